"""`checkov -d infra --framework bicep` passes, from its own environment (.venv-tools,
which `make setup` installs from requirements-tools.txt), and every check it skips is
skipped in the Bicep with a reason.

checkov sees the resources the templates declare; what goes into an Azure Verified Module
is its parameters, which tests/infra/test_infra_templates.py asserts on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from tests.support.bicep import ROOT, bicep_files

_BIN = "Scripts" if sys.platform == "win32" else "bin"
CHECKOV = ROOT / ".venv-tools" / _BIN / ("checkov.cmd" if sys.platform == "win32" else "checkov")
# An inline skip as checkov reads it in any comment, `#checkov:skip=CKV_AZURE_1: reason`
# (checkov/common/comment/enum.py COMMENT_REGEX).
SKIP = re.compile(r"(?:checkov|bridgecrew):skip= *(?P<check>[A-Za-z_\d]+)(?::(?P<reason>[^\n]+))?")


def checkov_summary() -> dict[str, Any]:
    """checkov's JSON summary for infra/, offline (--skip-download: no platform, no guides)."""
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: `make setup` installs it"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BC_", "PRISMA_"))}
    completed = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--framework", "bicep", "--output", "json", "--skip-download"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    report = json.loads(completed.stdout)
    # With no check applying checkov prints the bare summary, else a report around it.
    return report.get("summary", report)


def test_checkov_passes_on_infra() -> None:
    summary = checkov_summary()
    assert summary["parsing_errors"] == 0, summary
    assert summary["failed"] == 0, summary
    skips = [match for path in bicep_files() for match in SKIP.finditer(path.read_text())]
    assert summary["skipped"] == len(skips), summary


def test_every_skipped_check_says_why() -> None:
    for path in bicep_files():
        for match in SKIP.finditer(path.read_text()):
            reason = (match.group("reason") or "").strip()
            assert len(reason) >= 10, f"{path.name}: {match.group('check')} is skipped without a reason"

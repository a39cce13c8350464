"""Version matching as DTFx does it (`VersioningSettings.CompareVersions`,
`TaskOrchestrationDispatcher.OnProcessWorkItemAsync`), and the host.json settings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from devhost.config import load_config
from devhost.engine.versioning import (
    FailureStrategy,
    MatchStrategy,
    Versioning,
    compare_versions,
)
from tests.support.apps import VERSIONING_APP, app_with_settings


@pytest.mark.parametrize(
    ("source", "other", "sign"),
    [
        (None, None, 0),
        ("", None, 0),
        ("  ", "", 0),
        (None, "1.0", -1),
        ("1.0", "", 1),
        ("1.0", "1.0", 0),
        ("0.9", "1.0", -1),
        ("1.10", "1.9", 1),  # System.Version compares numbers, not text
        ("1.0", "1.0.0", -1),  # a missing part is older than 0
        ("2.0", "10.0", -1),
        ("v2", "V2", 0),  # not System.Versions: text, ignoring case
        ("1.0.0-preview", "1.0.0", 1),  # only one parses: both compare as text
    ],
)
def test_versions_compare_as_dtfx_compares_them(source: Optional[str], other: Optional[str], sign: int) -> None:
    assert compare_versions(source, other) == sign


@pytest.mark.parametrize(
    ("match", "default", "version", "accepted"),
    [
        (MatchStrategy.NONE, "1.0", "9.9", True),
        (MatchStrategy.STRICT, "1.0", "1.0", True),
        (MatchStrategy.STRICT, "1.0", "1.0.0", False),
        (MatchStrategy.STRICT, "1.0", None, False),
        (MatchStrategy.STRICT, None, "", False),  # `!=` in C#: null is not ""
        (MatchStrategy.CURRENT_OR_OLDER, "1.0", None, True),
        (MatchStrategy.CURRENT_OR_OLDER, "1.0", "0.9", True),
        (MatchStrategy.CURRENT_OR_OLDER, "1.0", "1.5", False),
        (MatchStrategy.CURRENT_OR_OLDER, None, "1.0", False),  # unversioned hosts run only unversioned work
    ],
)
def test_which_versions_a_host_runs(
    match: MatchStrategy, default: Optional[str], version: Optional[str], accepted: bool
) -> None:
    assert Versioning(default_version=default, match=match).accepts(version) is accepted


def test_host_json_is_silent_the_extension_defaults_apply(tmp_path: Path) -> None:
    config = load_config(app_with_settings(VERSIONING_APP, tmp_path, {}), environ={})
    assert config.engine.versioning == Versioning(None, MatchStrategy.CURRENT_OR_OLDER, FailureStrategy.REJECT)


def test_strategies_read_in_any_case_or_by_number(tmp_path: Path) -> None:
    settings = {"defaultVersion": "3.1", "versionMatchStrategy": "currentOrOlder", "versionFailureStrategy": "1"}
    config = load_config(app_with_settings(VERSIONING_APP, tmp_path, settings), environ={})
    assert config.engine.versioning == Versioning("3.1", MatchStrategy.CURRENT_OR_OLDER, FailureStrategy.FAIL)

"""Build the function app's deployment package and check it: `make package`.

    python scripts/package.py [--out dist/functionapp.zip] [--no-install]

The zip holds what `func azure functionapp publish` uploads for a Python app built
remotely (the default on Linux): every file of the app folder but those Core Tools
always leaves out and those `.funcignore` excludes, read as Core Tools reads it
(azure-functions-core-tools `src/Cli/func/Common/FileSystemHelpers.cs` `GetLocalFiles`,
`GitIgnoreParser.cs`, `Helpers/ZipHelper.cs`). `azd deploy` reads the same `.funcignore`
(azure-dev pull request 5383), so the file keeps to patterns both read alike: names at
the root, and `**/` for a name at any depth.

The checks: nothing of the development side inside (tests, devhost, bench, scripts,
docs, local storage data, local.settings.json or other secrets); then, unless
`--no-install`, `requirements.txt` installed into a fresh virtual environment on its
own, and the unzipped package indexed with only that environment, as the Python worker
indexes it (scripts/index_functions.py), which prints the functions found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INDEXER = Path(__file__).resolve().parent / "index_functions.py"
# What GetLocalFiles leaves out whatever .funcignore says: directories and files by name,
# at any depth, ignoring case.
ALWAYS_IGNORED_DIRECTORIES = (".git", ".vscode")
ALWAYS_IGNORED_FILES = (".funcignore", ".gitignore", "local.settings.json", "project.lock.json")
# Files on Azure keep Core Tools' Unix permissions (ZipHelper.CreateZip: 100666).
_FILE_MODE = 0o100666 << 16

# What a Python app's package cannot do without (PythonHelpers.GetPythonDeploymentPackage
# refuses a folder without requirements.txt; the host reads host.json, the worker function_app.py).
REQUIRED = ("host.json", "requirements.txt", "function_app.py")
# What must never be deployed: the development side of this repository and local state.
FORBIDDEN_TOP_LEVEL = (".git", "tests", "devhost", "bench", "scripts", "docs", "node_modules", ".venv", "dist", "infra")
_LOCAL_DATA = re.compile(r"^(\.azurite|__azurite.*|__blobstorage__|__queuestorage__|__tablestorage__|\.azure)$", re.I)
_SECRETS = re.compile(r"^(local\.settings\.json|\.env|.*\.env|.*\.pem|.*\.key|.*\.pfx|.*\.publishsettings)$", re.I)
_CACHES = re.compile(r"^(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|.*\.pyc)$", re.I)


class FuncIgnore:
    """`.funcignore` as Core Tools' GitIgnoreParser reads it (a port of codemix's
    gitignore-parser): each pattern is anchored at the root and must end at a word
    boundary, so `tests` leaves out `tests/...` and `tests.py` but not `app/tests/...`;
    `*` is one or more characters of a name, `**` one or more of a path; `!` re-includes."""

    def __init__(self, text: str) -> None:
        lines = [line.strip() for line in text.split("\n")]
        positive: list[str] = []
        negative: list[str] = []
        for line in lines:
            if not line or line.startswith("#"):
                continue
            target = negative if line.startswith("!") else positive
            line = line.removeprefix("!").removeprefix("/")
            target.append(line)
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)
        self.has_negations = bool(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str] | None:
        if not patterns:
            return None
        body = ")|(".join(_pattern(p) for p in sorted(patterns))
        return re.compile(f"^(({body}))\\b", re.ASCII)

    def accepts(self, path: str) -> bool:
        if self._negative is not None and self._negative.match(path):
            return True
        return self._positive is None or not self._positive.match(path)


def _pattern(pattern: str) -> str:
    """GitIgnoreParser.PrepareRegexPattern: regex characters escaped, then the wildcards."""
    escaped = re.sub(r"[\-\[\]/{}()+?.\\^$|]", lambda m: "\\" + m.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", "([^\\/]+)")


def package_files(root: Path) -> list[str]:
    """The app folder's files that go into the package, as sorted `/`-separated paths."""
    funcignore = root / ".funcignore"
    ignore = FuncIgnore(funcignore.read_text(encoding="utf-8") if funcignore.is_file() else "")
    return sorted(path for path in _walk(root, root, ignore) if ignore.accepts(path))


def _walk(root: Path, folder: Path, ignore: FuncIgnore) -> Iterator[str]:
    for entry in sorted(folder.iterdir()):
        relative = entry.relative_to(root).as_posix()
        if entry.is_dir():
            if entry.name.lower() in ALWAYS_IGNORED_DIRECTORIES:
                continue
            # A folder the patterns deny denies everything in it (a match ends at a word
            # boundary, which its `/` keeps), unless a `!` pattern could take some back:
            # skipping it spares a walk through .venv or node_modules.
            if not ignore.has_negations and not ignore.accepts(relative):
                continue
            yield from _walk(root, entry, ignore)
        elif entry.name.lower() not in ALWAYS_IGNORED_FILES:
            yield relative


def build(root: Path, out: Path) -> list[str]:
    """Writes the package to `out`; returns the paths it holds."""
    files = package_files(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            info = zipfile.ZipInfo.from_file(root / name, name)
            info.external_attr = _FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / name).read_bytes())
    return files


def forbidden(names: list[str]) -> list[str]:
    """Why each path that must not be deployed is there (empty when none is)."""
    problems = [f"{required}: missing (Core Tools refuses to publish without it)" for required in REQUIRED
                if required not in names]
    for name in names:
        parts = name.split("/")
        if parts[0] in FORBIDDEN_TOP_LEVEL:
            problems.append(f"{name}: {parts[0]}/ is not part of the function app")
        elif any(_LOCAL_DATA.match(part) for part in parts):
            problems.append(f"{name}: local storage data")
        elif _SECRETS.match(parts[-1]):
            problems.append(f"{name}: settings or secrets stay local")
        elif any(_CACHES.match(part) for part in parts):
            problems.append(f"{name}: a local cache")
    return problems


def fresh_environment(folder: Path, requirements: Path) -> Path:
    """A new virtual environment in `folder` with `requirements` installed and nothing
    else; its python. (pip's own wheel cache makes a second install quick.)"""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, env=_clean_environ())
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    command = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requirements)]
    installed = subprocess.run(command, capture_output=True, text=True, env=_clean_environ())
    if installed.returncode != 0:
        raise SystemExit(f"requirements.txt does not install on its own:\n{installed.stdout}{installed.stderr}")
    return python


def unzip(package: Path, into: Path) -> Path:
    """The package unpacked as Azure mounts it (`/home/site/wwwroot`)."""
    with zipfile.ZipFile(package) as archive:
        archive.extractall(into)
    return into


def index(python: Path, app_dir: Path) -> list[dict[str, Any]]:
    """The functions the worker would find in `app_dir`, run by `python` in isolated
    mode (no PYTHONPATH, no user site, nothing of this checkout on the path)."""
    run = subprocess.run(
        [str(python), "-I", str(INDEXER), str(app_dir)], cwd=app_dir, capture_output=True, text=True, env=_clean_environ()
    )
    if run.returncode != 0:
        raise SystemExit(f"The package does not index with requirements.txt alone:\n{run.stderr}")
    indexed: list[dict[str, Any]] = json.loads(run.stdout)
    return indexed


def trigger(function: dict[str, Any]) -> str:
    return next(b["type"] for b in function["bindings"] if str(b["type"]).endswith("Trigger"))


def _clean_environ() -> dict[str, str]:
    """The environment minus what would hand a child Python this checkout's packages."""
    unwanted = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV")
    return {key: value for key, value in os.environ.items() if key not in unwanted}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "functionapp.zip")
    parser.add_argument("--no-install", action="store_true", help="check the contents only")
    options = parser.parse_args()
    files = build(ROOT, options.out)
    print(f"{options.out}: {len(files)} files")
    problems = forbidden(files)
    if problems:
        print("The package holds what must not be deployed:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if options.no_install:
        return 0
    with tempfile.TemporaryDirectory(prefix="functionapp-") as scratch:
        app_dir = unzip(options.out, Path(scratch) / "wwwroot")
        python = fresh_environment(Path(scratch) / "venv", app_dir / "requirements.txt")
        functions = index(python, app_dir)
    print(f"requirements.txt installs on its own; the package indexes {len(functions)} functions:")
    for function in functions:
        print(f"  {function['name']}: {trigger(function)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

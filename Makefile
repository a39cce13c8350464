# The two commands of the README, plus the set-up they share (see shared contract).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed
# checkov's own environment: its pins clash with the project's (requirements-tools.txt).
TOOLS_VENV := .venv-tools
STAMP_TOOLS := $(TOOLS_VENV)/.installed
# The benchmark's peer (Microsoft's durabletask SDK) lives in a venv of its own.
VENV_BENCH := .venv-bench
STAMP_BENCH := $(VENV_BENCH)/.installed
# The browser tests drive a system Chromium (no browser download: see
# tests/support/browser.py): Debian's, or another one named by CHROMIUM=/path.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup start test azurite bench package clean

setup: $(STAMP_PY) $(STAMP_TOOLS) $(STAMP_NODE) $(CHROMIUM)

# devhost itself goes in editable, so the suite gets its pytest plugin as a user does;
# pip also refuses to set up if a pin falls outside the range pyproject.toml declares.
$(STAMP_PY): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e '.[azure,testing]'
	@touch $@

$(STAMP_TOOLS): requirements-tools.txt
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "The browser tests need Chromium: install it (brew install --cask chromium, dnf install chromium, ...) and run make with CHROMIUM=/path/to/chromium." >&2; exit 1; }
	@echo "Installing Debian's chromium (browser tests)..."
	@log=$$(mktemp); { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium; } >$$log 2>&1 \
	    || { cat $$log; rm -f $$log; exit 1; }; rm -f $$log

start: setup
	@$(PY) -m devhost.azurite --location .azurite -- $(PY) -m devhost start --app-dir .

azurite: setup
	@$(PY) -m devhost.azurite --location .azurite

# The quality gates first (lint, format, strict types on devhost/), then the suite.
test: setup
	$(PY) -m ruff check
	$(PY) -m ruff format --check
	$(PY) -m mypy
	$(PY) -m pytest

# The peer is no dependency of devhost or the app: it gets its own venv, from its own
# pins, and bench/peer.py runs under that venv's python as a child of `python -m bench`.
$(STAMP_BENCH): requirements-bench.txt
	@test -x $(VENV_BENCH)/bin/python || $(PYTHON) -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $@

bench: setup $(STAMP_BENCH)
	$(PY) -m bench --peer-python $(VENV_BENCH)/bin/python

# The zip `func azure functionapp publish` / `azd deploy` would upload (.funcignore as Core
# Tools reads it), then its checks: nothing of the development side or local settings in
# it, requirements.txt installing alone into a fresh venv, every function indexed from it.
# tests/package/test_function_app_package.py runs the same checks in `make test`.
package: setup
	$(PY) scripts/package.py --out dist/functionapp.zip

clean:
	rm -rf $(VENV) $(TOOLS_VENV) $(VENV_BENCH) node_modules .azurite .pytest_cache dist

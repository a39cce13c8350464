# The two commands of the README, plus the set-up they share (see shared contract).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: setup start test azurite bench clean

setup: $(STAMP_PY) $(STAMP_NODE)

$(STAMP_PY): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

start: setup
	@$(PY) -m devhost.azurite --location .azurite -- $(PY) -m devhost start --app-dir .

azurite: setup
	@$(PY) -m devhost.azurite --location .azurite

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .azurite .pytest_cache

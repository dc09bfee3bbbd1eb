# Each target creates .venv itself, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.demo-installed
STAMP_TEST := $(VENV)/.test-installed

.PHONY: demo test lint browser prism bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_DEMO)

demo: $(STAMP_DEMO)
	$(BIN)/pmdraft demo -o pmdraft-demo.md

# Headless Chromium and pdftotext for tests/render/test_browser.py, from Debian's packages where
# apt-get works (root, a reachable mirror). Anywhere else those tests skip: this never fails.
BROWSER_PACKAGES := chromium chromium-driver poppler-utils

browser:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null) \
	  || echo "chromium not installed; browser tests will skip"

# Style, types and the import-layer contracts of docs/architecture.md; `make test` runs it first.
lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

# Stoplight Prism for tests/peers (a PagerDuty peer nobody here wrote), pinned by
# tests/peers/package.json and its lockfile, installed into .prism/ (outside tests/, whose files
# some tests walk). Without npm or the registry those tests skip: this never fails.
PRISM_HOME := .prism
PRISM_BIN := $(PRISM_HOME)/node_modules/.bin/prism

prism: $(PRISM_BIN)

$(PRISM_BIN): tests/peers/package.json tests/peers/package-lock.json
	@(command -v npm >/dev/null \
	  && mkdir -p $(PRISM_HOME) && cp tests/peers/package.json tests/peers/package-lock.json $(PRISM_HOME)/ \
	  && npm ci --prefix $(PRISM_HOME) --ignore-scripts --no-audit --no-fund --loglevel=error \
	       --fetch-retries=1 --fetch-timeout=30000 >/dev/null 2>&1 \
	  && touch $@) \
	  || echo "prism not installed (needs npm and the npm registry); tests/peers will skip"

test: lint browser prism $(STAMP_TEST)
	$(BIN)/python -m pytest -q

bench: $(STAMP_TEST)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .prism pmdraft-demo.md pmdraft-demo.json pmdraft-demo-graphs

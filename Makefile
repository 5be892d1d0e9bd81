# chatconsent: the obvious targets. `make run` and `make test` work on a fresh machine (Python 3.11+).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONPATH := layers/chatconsent:.

.PHONY: run test lint format typecheck validate build notices openapi events ropa bench clean

$(VENV)/.installed: requirements-dev.txt layers/chatconsent/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed  ## the whole API and the playground on http://127.0.0.1:3000 (embedded backend)
	$(PY) -m localrun.server

# The browser tests drive Debian's Chromium with Playwright (Playwright's own download is not used).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# Branch coverage of the layer package, measured in the pytest process (the local servers that the
# browser, localrun and schema tests start are not measured); the data file stays out of the tree.
test: $(VENV)/.installed $(CHROMIUM)  ## the test suite, browser and fuzz tests included, with branch coverage
	mkdir -p build
	COVERAGE_FILE=build/.coverage $(PY) -m pytest --cov=chatconsent --cov-branch \
		--cov-report=term-missing:skip-covered --cov-fail-under=90

lint: $(VENV)/.installed  ## ruff, mypy and cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	for handler in functions/*/handler.py; do $(VENV)/bin/mypy $$handler || exit 1; done
	$(VENV)/bin/cfn-lint template.yaml

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

notices: $(VENV)/.installed  ## publish the configured notice version (immutable once published)
	$(PY) tools/publish_notices.py

openapi: $(VENV)/.installed  ## regenerate openapi.json from the handlers' models
	$(PY) tools/openapi.py --write

events: $(VENV)/.installed  ## regenerate the signed sample events under events/
	$(PY) tools/make_events.py

ropa: $(VENV)/.installed  ## the Art. 30 record of processing activities (build/ropa/ropa.{md,json})
	$(PY) tools/ropa.py build/ropa

bench: $(VENV)/.installed  ## cold start and DynamoDB requests per message
	$(PY) bench/run.py

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	touch $@

validate: $(SAM_VENV)/.installed $(VENV)/.installed  ## sam validate --lint and cfn-lint
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --region eu-central-1

build: $(SAM_VENV)/.installed  ## sam build (needs a python3.12 interpreter on PATH)
	$(SAM_VENV)/bin/sam build

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache build

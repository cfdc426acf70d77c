# SafeCampus: `make run` runs the whole system, `make test` runs the whole test suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench screenshots clean i18n

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SafeCampus needs Python 3.11 or newer")'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv; fi; \
	  $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[embedded,test,lint]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/safecampus run

test: $(STAMP)
	$(PY) -m tests.harness $(PYTEST_ARGS)

# Ruff (the project's rule set), mypy on the three packages, the import-linter layers contract.
lint: $(STAMP)
	$(VENV)/bin/ruff check ingest dashboard sensors_sim tests bench docs
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The message catalogues: extract every marked string (_ and N_) into the template, then bring
# each language's catalogue up to date (new strings empty, gone ones marked obsolete). A
# translator fills ingest/core/locale/zh_CN/LC_MESSAGES/messages.po; tests/unit/test_i18n.py
# fails while a string is missing, empty or fuzzy there.
LOCALE := ingest/core/locale
i18n: $(STAMP)
	$(VENV)/bin/pybabel extract -F $(LOCALE)/babel.cfg -k N_ --no-location --sort-output --no-wrap \
	  --project SafeCampus -o $(LOCALE)/messages.pot ingest dashboard sensors_sim
	$(VENV)/bin/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -D messages --init-missing \
	  --no-fuzzy-matching --no-wrap -l zh_CN
	$(VENV)/bin/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -D messages --init-missing \
	  --no-fuzzy-matching --no-wrap -l en

bench: $(STAMP)
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) .safecampus .safecampus-test .pytest_cache .hypothesis

# Two commands for a newcomer: `make forecast` and `make test`. Both set up .venv themselves.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help forecast test calibrate backtest lint bench clean
.DEFAULT_GOAL := help
CLI_NOTE = echo "The command line: $(VENV)/bin/iamg-forecast --help (or: . $(VENV)/bin/activate, then iamg-forecast)"

help:
	@echo "make forecast   # set up $(VENV), write reports/latest.html from the bundled seed evidence"
	@echo "make test       # set up $(VENV), run the test suite"
	@$(CLI_NOTE)

$(STAMP): pyproject.toml
	@set -e; \
	if [ ! -x $(PY) ]; then \
	  BASE=$$(./scripts/find_python.sh); \
	  echo "Creating $(VENV) with $$BASE"; \
	  "$$BASE" -m venv $(VENV); \
	fi; \
	$(PY) -m pip install -q --upgrade pip; \
	$(PY) -m pip install -q -e '.[dev]'; \
	touch $(STAMP); \
	$(CLI_NOTE)

forecast: $(STAMP)
	@mkdir -p reports work
	$(VENV)/bin/iamg-forecast forecast --db work/iamg.sqlite --import-seed --out reports/latest.html
	@$(CLI_NOTE)

test: $(STAMP)
	@./scripts/ensure_chromium.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

calibrate: $(STAMP)
	@mkdir -p reports
	$(VENV)/bin/iamg-forecast calibrate --out reports/calibration.html --store work/calibration

backtest: $(STAMP)
	@mkdir -p reports
	$(VENV)/bin/iamg-forecast backtest --out reports/backtests.html --json-out reports/backtests.json

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/update_latency.py

clean:
	rm -rf $(VENV) reports work .pytest_cache

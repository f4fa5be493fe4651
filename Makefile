# Two entry points: `make demo` runs the whole platform on the demo sources, `make test` the suite.
# Both create .venv themselves; the stamp file re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint down clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and exact: 2.13.0 resolves to a local CPU build; a range would pull CUDA wheels.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aura demo

test: $(STAMP)
	$(BIN)/ruff check aura_platform tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check aura_platform tests bench
	$(BIN)/ruff format --check aura_platform tests bench
	$(BIN)/mypy

down: $(STAMP)
	$(BIN)/aura down

clean:
	rm -rf $(VENV) .aura data/processed dbt_project/target dbt_project/logs

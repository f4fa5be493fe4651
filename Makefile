# Two entry points: `make demo` runs the whole platform on the demo sources, `make test` the suite.
# Both create .venv themselves and install exactly what requirements.lock pins (hashes checked);
# nothing resolves versions at install time. The stamp re-installs when the lock changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# `make lock` arguments, shared by `make upgrade-check`: torch stays on its CPU build through the
# constraint; index locations stay out of the lock (they are a machine's pip configuration).
COMPILE := pip-compile --quiet --extra dev --extra demo --allow-unsafe --generate-hashes --no-strip-extras \
	--no-emit-index-url --no-emit-find-links -c torch-cpu.txt pyproject.toml

.PHONY: demo test test-celery lint down clean lock upgrade-check

$(STAMP): $(LOCK) pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	# --no-deps: the lock lists every package, so pip installs exactly those files and resolves
	# nothing; `pip check` below proves the set is consistent.
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	# The project itself, with no dependency resolution and no isolated build environment (that
	# would fetch a fresh setuptools): everything it needs is already installed from the lock.
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aura demo

test: $(STAMP)
	$(BIN)/ruff check aura_platform aura_demo tests bench
	$(BIN)/mypy
	$(BIN)/pytest

# The main job on two real Celery workers and redis-server (Debian's package): not in `make test`,
# whose CI budget its 8 to 12 minutes would break.
test-celery: $(STAMP)
	@command -v redis-server >/dev/null || { echo "make test-celery needs Debian's redis-server \
	(apt-get install redis-server; .ci/run installs it): without a broker every test would skip" >&2; \
	exit 1; }
	$(BIN)/pytest -m celery tests/integration/test_celery.py

lint: $(STAMP)
	$(BIN)/ruff check aura_platform aura_demo tests bench
	$(BIN)/ruff format --check aura_platform aura_demo tests bench
	$(BIN)/mypy

down: $(STAMP)
	$(BIN)/aura down

# Re-resolve the lock within pyproject.toml's ranges, keeping every pin that still fits.
# Bump one package: make lock ARGS="-P transformers"; everything: make lock ARGS=--upgrade.
lock: $(STAMP)
	$(BIN)/$(COMPILE) $(ARGS) -o $(LOCK)

# Resolve the newest versions the ranges allow into a throw-away venv and run the fast unit tests
# plus a model-load smoke test there, so an upstream break shows before it reaches the lock.
# Not part of CI: it resolves freshly on purpose. Its venv is left for inspection.
UPGRADE_VENV := .venv-upgrade-check
PINS = grep -ohE '^[A-Za-z0-9_.-]+(\[[^]]*\])?==[^ \\]+' | sed -E 's/\[[^]]*\]//' \
	| awk -F'==' '{ name = tolower($$1); gsub(/[._]/, "-", name); print name "==" $$2 }' | sort
upgrade-check:
	rm -rf $(UPGRADE_VENV)
	$(PYTHON) -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/pip install --quiet --upgrade pip
	$(UPGRADE_VENV)/bin/pip install --quiet -c torch-cpu.txt -e ".[dev,demo]"
	$(UPGRADE_VENV)/bin/pip check
	@echo "== versions the lock would move to (< locked, > newest allowed):"
	@cat $(LOCK) | $(PINS) > $(UPGRADE_VENV)/locked.txt
	@$(UPGRADE_VENV)/bin/pip list --format=freeze --exclude-editable | $(PINS) > $(UPGRADE_VENV)/newest.txt
	@diff $(UPGRADE_VENV)/locked.txt $(UPGRADE_VENV)/newest.txt || true
	$(UPGRADE_VENV)/bin/python -c "from aura_platform.search.embedding_stack import smoke_test; \
		print('model smoke test:', smoke_test('all-MiniLM-L6-v2'))"
	$(UPGRADE_VENV)/bin/pytest -q -p no:cacheprovider --ignore=tests/integration --ignore=tests/ui \
		--deselect tests/test_install.py::test_every_locked_package_is_installed_at_its_locked_version
	@echo "upgrade-check passed: 'make lock ARGS=--upgrade' would take these versions"

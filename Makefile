# The README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# make run serves on this port: make run PORT=8080
PORT ?= 8000

.PHONY: run test lint bench lock clean handout-screenshot patient-page-screenshot

run: $(VENV)/.runtime  ## install, migrate, start the service on SQLite (prints the first admin key); PORT=8000
	$(BIN)/prolo serve --port $(PORT)

# make test runs the suite on every core (pytest-xdist; each worker has its own database or schema): TEST_WORKERS=0 runs it in one process
TEST_WORKERS ?= auto

test: $(VENV)/.dev  ## install and run the whole test suite (PROLO_TEST_DATABASE_URL for PostgreSQL)
	scripts/test-tools
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.dev
	$(BIN)/python bench/planner.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/day_view.py

handout-screenshot: $(VENV)/.dev  ## docs/handout.png: the demo's aftercare handout printed by headless Chromium
	scripts/test-tools
	$(BIN)/python scripts/handout_screenshot.py

patient-page-screenshot: $(VENV)/.dev  ## docs/patient-page.png: a demo patient's page on a phone, in headless Chromium
	scripts/test-tools
	$(BIN)/python scripts/patient_page_screenshot.py

lock:  ## re-pin every dependency after editing pyproject.toml
	uv pip compile pyproject.toml --python-version 3.11 --no-header --annotation-style line -o requirements.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header --annotation-style line -o requirements-dev.lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) -r requirements-dev.lock
	$(PIP) --no-deps -e .
	touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

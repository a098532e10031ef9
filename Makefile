# Two commands for a new user: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DATA ?= data/demo
DEMO_WORK_DIR ?= work_dirs/demo

.PHONY: demo test test-fast lint clean

$(PY): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(PY)

demo: $(PY)
	$(PY) tools/demo.py --data $(DEMO_DATA) --work-dir $(DEMO_WORK_DIR)

test: $(PY)
	$(PY) -m pytest

test-fast: $(PY)
	$(PY) -m pytest -m "not slow"

lint: $(PY)
	$(PY) -m ruff check sparkpose tools tests configs

clean:
	rm -rf work_dirs $(DEMO_DATA) .pytest_cache

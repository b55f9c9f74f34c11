# Two commands: `make run` serves the demo district, `make test` runs every check.
# Both bootstrap .venv from a bare Python 3.11+ (`make install` alone does only that).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8000

.PHONY: install run test lint messages bench clean

install: $(STAMP) messages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

messages: $(STAMP)
	@$(PY) -m gongzhi.core.i18n

run: install
	$(VENV)/bin/gongzhi demo --port $(PORT)

test: install
	@bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .

bench: install
	@bash benchmarks/run.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# Two commands: `make run` serves the demo district, `make test` runs every check.
# Both bootstrap .venv from a bare Python 3.11+ (`make install` alone does only that).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8000

.PHONY: install run test lint messages vendor bench clean

install: $(STAMP) messages vendor

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

messages: $(STAMP)
	@$(PY) -m gongzhi.core.i18n

# The cockpit's charts: a pinned ECharts from the npm registry, copied into the cockpit's static files (gitignored;
# never a CDN). Without npm, or offline, the cockpit still works (its tables) and says charts need this step.
ECHARTS_VERSION := 5.6.0
ECHARTS_JS      := gongzhi/cockpit/static/cockpit/vendor/echarts.min.js

vendor: $(ECHARTS_JS)

$(ECHARTS_JS): Makefile
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p build/npm && \
	  npm install --silent --no-audit --no-fund --prefix build/npm echarts@$(ECHARTS_VERSION) && \
	  cp build/npm/node_modules/echarts/dist/echarts.min.js $@ && echo "vendored echarts $(ECHARTS_VERSION)" \
	  || echo "npm could not fetch echarts $(ECHARTS_VERSION): the cockpit shows tables without charts"; \
	else \
	  echo "npm not found: the cockpit shows tables without charts (install node and npm, then make vendor)"; \
	fi

run: install
	$(VENV)/bin/gongzhi demo --port $(PORT)

test: install
	@bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .

bench: install
	@bash benchmarks/run.sh

clean:
	rm -rf $(VENV) var build .pytest_cache .ruff_cache

# libgate: `make demo` to try it, `make test` to check it.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INTEROP := tests/interop/openid_client
NODE_AXE := tests/web

.PHONY: install demo test lint bench bench-sip2 bench-search clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

install: $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/libgate demo

$(NODE_INTEROP)/node_modules/.installed: $(NODE_INTEROP)/package.json $(NODE_INTEROP)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --silent --no-audit --no-fund --prefix $(NODE_INTEROP) && touch $@; \
	else echo "npm not found: the openid-client interop test will skip"; fi

$(NODE_AXE)/node_modules/.installed: $(NODE_AXE)/package.json $(NODE_AXE)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --silent --no-audit --no-fund --prefix $(NODE_AXE) && touch $@; \
	else echo "npm not found: the browser tests will run without axe-core"; fi

lint: $(INSTALLED)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# The tests run in TEST_PROCESSES processes (default: one per core); then, once they have
# all finished, the check that none of them left a PIN in clear anywhere.
TEST_PROCESSES ?= auto
# libgate is byte-compiled first: the tests start many libgate processes, and where
# PYTHONDONTWRITEBYTECODE is set each would otherwise compile every module again.
test: $(INSTALLED) $(NODE_INTEROP)/node_modules/.installed $(NODE_AXE)/node_modules/.installed lint
	$(PY) -m compileall -q src
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile
	$(PY) -m pytest --check-previous-run -m last tests/test_no_pin_leaks.py

bench: $(INSTALLED)
	$(PY) bench/run.py

bench-sip2: $(INSTALLED)
	$(PY) bench/sip2_gateway.py

# Federated search: (a)+(b) fan-out to 10 Zebras, (c) merge + rank + facets, (d) the local
# index on 250,000 records (fetched once into bench/data/).
bench-search: $(INSTALLED)
	$(PY) bench/search.py
	$(PY) bench/search_merge.py
	$(PY) bench/search_local.py

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .mypy_cache .ruff_cache

# The two commands of the README: `make demo` and `make test`. Both do all set-up first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
QG := $(VENV)/bin/qungong
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast setup system python assets lint bench clean

demo: setup
	$(QG) db up
	$(QG) demo ensure
	QUNGONG_DEMO=1 $(QG) run --host 127.0.0.1 --port 5000

# The full suite (CI), the full-network tests included. It runs in TEST_WORKERS processes
# (pytest-xdist), each with its own throwaway PostGIS cluster; a module's tests stay together
# so its module-scoped fixtures (the full network) are built once. TEST_WORKERS=0 runs it in
# one process.
TEST_WORKERS ?= 2
test: setup
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# Everything but the full-network tests.
test-fast: setup
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadscope -m "not slow" $(PYTEST_ARGS)

setup: system python assets

# Debian packages: PostGIS for PostgreSQL 15, Chromium for browser tests, GDAL's ogr2ogr for the
# ingest benchmark's anchor, pgRouting for the roads benchmark's anchor. Installed only when
# missing (needs root, as on the project machines).
system:
	@missing=""; \
	[ -f /usr/share/postgresql/15/extension/postgis.control ] || missing="$$missing postgresql-15-postgis-3"; \
	[ -f /usr/share/postgresql/15/extension/pgrouting.control ] || missing="$$missing postgresql-15-pgrouting"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v ogr2ogr >/dev/null || missing="$$missing gdal-bin"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The Python package with the versions we tested (constraints.txt), into a local venv.
python: $(STAMP)
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

# Leaflet and plugin files from the npm registry, exactly as package-lock.json says.
assets: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

lint: python
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	-$(QG) db down
	rm -rf node_modules $(VENV)

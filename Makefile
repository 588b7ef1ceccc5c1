# Two commands set everything up from the pinned files and do the work:
#   make run   - run the default scenario (borlange-2027) for a year
#   make test  - lint (ruff), the validation cases, then the whole test suite
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench browser clean-venv docs

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	$(PY) -m dctwin.cluster.core.warm
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/dctwin run

# Debian's chromium drives the browser tests through Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/dctwin validate
	$(PY) -m pytest -n 2 --dist loadfile --timeout=900

bench: $(STAMP)
	$(PY) -m pip install -q -c requirements.lock -e '.[dev,peer]'
	$(PY) -m pytest benchmarks --benchmark-only -p no:xdist

docs: $(STAMP)
	$(PY) scripts/gen_docs.py
	$(PY) scripts/gen_validation_docs.py
	@for s in scripts/gen_sources.py scripts/gen_glossary.py; do [ ! -f $$s ] || $(PY) $$s; done

clean-venv:
	rm -rf $(VENV)

# goruntime: Go 1.27's memory manager in Python + Cython. `make help` lists the targets.
PYTHON ?= python3
PIP := $(PYTHON) -m pip install -q --disable-pip-version-check
PYTEST_ARGS ?=
export GOTOOLCHAIN := local

.PHONY: help install build debug sanitize annotate test test-slow test-debug oracle bench demo clean

help:  ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "%-12s %s\n", $$1, $$2}'

.stamp-install: pyproject.toml
	$(PIP) "setuptools>=64" wheel "Cython>=3.1" "numpy>=1.26"
	$(PIP) -e ".[test,plot,notebook,progress]" --no-build-isolation
	@touch $@

install: .stamp-install  ## Install goruntime (editable) with its test, plot and notebook extras

build: .stamp-install  ## Compile the Cython extensions in place (release directives)
	$(PYTHON) setup.py -q build_ext --inplace

debug: .stamp-install  ## Rebuild with bounds checks, -O0 -g and invariant checks (GORUNTIME_CHECKS=1)
	GORUNTIME_DEBUG=1 $(PYTHON) setup.py -q build_ext --inplace --force

sanitize: .stamp-install  ## Run the tests against an ASan+UBSan build (in build/sanitize; the normal build is untouched)
	$(PYTHON) tools/sanitize.py -- -q -m "not slow" $(PYTEST_ARGS)

annotate: .stamp-install  ## Write goruntime/*.html showing Python interaction per line
	GORUNTIME_ANNOTATE=1 $(PYTHON) setup.py -q build_ext --inplace --force

test: build  ## Install what the tests need, build, run the test suite
	$(PYTHON) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: build  ## Run the long tests too (marker `slow`)
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

oracle: build  ## Run the differential corpus against real Go 1.27.3; writes tests/oracle/report.md
	$(PYTHON) -m pytest -q tests/oracle $(PYTEST_ARGS)

bench: build  ## goruntime vs real Go vs CPython, ratios in one run; writes bench/latest.json
	$(PYTHON) -m bench

demo: build  ## The seed tutorial "GC and SetFinalizer", in motion
	$(PYTHON) -m goruntime demo

clean:  ## Remove generated C, shared objects, caches
	rm -rf build/ goruntime/*.c goruntime/*.so goruntime/workloads/*.c goruntime/workloads/*.so goruntime/*.html .stamp-* *.egg-info

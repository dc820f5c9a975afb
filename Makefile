# `make demo` and `make test` each set up .venv from the pinned requirements first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-network venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

demo: venv
	$(BIN)/gluon-aff demo

test: venv
	$(BIN)/python -m pytest -q tests

# Downloads the nine released checkpoints (about 0.5 GB) and checks them; needs network.
test-network: venv
	$(BIN)/python -m pytest -q -m network --run-network tests

clean:
	rm -rf $(VENV) *.egg-info

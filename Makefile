# `make demo` and `make test` each set up .venv from the pinned requirements first;
# `make test` and `make bench` also set up .venv-ort (ONNX Runtime, which needs a newer
# numpy than MXNet and so lives in its own environment).
PYTHON ?= python3
VENV ?= .venv
ORT_VENV ?= .venv-ort
BIN := $(VENV)/bin

.PHONY: demo test test-network bench venv venv-ort clean

venv: $(VENV)/.installed

venv-ort: $(ORT_VENV)/.installed

$(ORT_VENV)/.installed: requirements-ort.txt
	$(PYTHON) -m venv $(ORT_VENV)
	$(ORT_VENV)/bin/pip install --quiet -r requirements-ort.txt
	$(ORT_VENV)/bin/pip check
	touch $@

$(VENV)/.installed: requirements.txt requirements-test.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

demo: venv
	$(BIN)/gluon-aff demo

test: venv venv-ort
	$(BIN)/python -m pytest -q tests

# Writes benchmarks/results.md (about 15 minutes on 2 cores).
bench: venv venv-ort
	$(BIN)/python benchmarks/run_benchmarks.py

# Downloads the nine released checkpoints (about 0.5 GB) and checks them; needs network.
test-network: venv
	$(BIN)/python -m pytest -q -m network --run-network tests

clean:
	rm -rf $(VENV) $(ORT_VENV) *.egg-info

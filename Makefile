# `make demo` and `make test` set up .venv from the pinned requirements first.
# PYTHON=python3.10|python3.11|python3.12|python3.13 picks the interpreter: from PATH, or
# else the newest pyenv version of that name. .venv is rebuilt when the interpreter's
# version changes; VENV=.venv-3.13 keeps one environment per version side by side.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

PY := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null || \
        ls -d "$$(pyenv root 2>/dev/null)"/versions/*/bin/$(PYTHON) 2>/dev/null | sort -V | tail -1)
ifeq ($(strip $(PY)),)
$(error no Python interpreter '$(PYTHON)' (not on PATH, not a pyenv version): install it, or \
  pick one with PYTHON=python3.11)
endif
PYVER := $(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
STAMP := $(VENV)/.installed-$(PYVER)

.PHONY: demo test test-e2e test-network install-check torch-check bench twin-speed venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt requirements-torch.txt requirements-mxnet.txt \
          setup.py
	@if [ -x $(BIN)/python ] && [ ! -e $(STAMP) ] && \
	    [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$(PYVER)" ]; then \
	  echo "$(VENV) has another Python; rebuilding it for $(PY) ($(PYVER))"; rm -rf $(VENV); fi
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	@# the package with every extra (MXNet side, serving, PyTorch twin, tests), each
	@# dependency at its pinned version; then MXNet without its numpy<2 pin
	$(BIN)/pip install --quiet -c requirements-test.txt -e '.[mxnet,serve,torch,test]'
	$(BIN)/pip install --quiet --no-deps -r requirements-mxnet.txt
	@# everything consistent but MXNet's numpy<2, which gluon_aff.mxnet_compat answers for
	@problems="$$($(BIN)/pip check | grep -v -e '^No broken requirements' \
	  -e '^mxnet 1.9.1 has requirement numpy<2')"; \
	  if [ -n "$$problems" ]; then echo "$$problems"; exit 1; fi
	rm -f $(VENV)/.installed-*
	touch $@

demo: venv
	$(BIN)/gluon-aff demo

test: venv
	$(BIN)/python -m pytest tests

# The end-to-end tier (tests marked e2e; CI runs it after `make test`): the programs run
# again in their own processes, stopped and rerun, on several processes.
test-e2e: venv
	$(BIN)/python -m pytest tests --run-e2e -m e2e

# `pip install '.[mxnet]'` into a fresh environment that already holds numpy 2 and pandas
# keeps numpy 2 (downloads from PyPI; MXNet is not installed there).
CHECK_VENV := $(VENV)-install-check
install-check:
	rm -rf $(CHECK_VENV)
	$(PY) -m venv $(CHECK_VENV)
	$(CHECK_VENV)/bin/pip install --quiet 'numpy>=2' pandas
	$(CHECK_VENV)/bin/python -c 'import numpy; print(numpy.__version__)' > $(CHECK_VENV)/numpy
	$(CHECK_VENV)/bin/pip install --quiet '.[mxnet]'
	cd $(CHECK_VENV) && bin/python $(CURDIR)/tests/install_check.py "$$(cat numpy)"
	rm -rf $(CHECK_VENV)

# `pip install '.[torch]'` into a fresh environment (the pinned versions; about 5.5 GB
# with torch's CUDA libraries, removed afterwards): the twin, `gluon-aff list`, `summary`,
# `convert` and timm's loading of a Hub folder work, and nothing of the MXNet side (mxnet,
# gluoncv, pandas, scikit-learn, pycocotools, onnx, ONNX Runtime, OpenVINO) is installed.
TORCH_VENV := $(VENV)-torch-check
torch-check:
	rm -rf $(TORCH_VENV)
	$(PY) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/pip install --quiet -c requirements.txt -c requirements-torch.txt \
	  '.[torch]'
	cd $(TORCH_VENV) && bin/python $(CURDIR)/tests/torch_only_check.py
	rm -rf $(TORCH_VENV)

# Writes benchmarks/results.md and .json (about 90 minutes on 2 cores: three ImageNet
# networks on every path at batch 1, 8 and 32, training at 1 and 32, compiles included).
bench: venv
	$(BIN)/python benchmarks/run_benchmarks.py

# The PyTorch twin's speed targets, each said met or not met over three interleaved repeats
# (benchmarks/twin_speed.md; about 25 minutes a repeat on 2 cores). ISA=AVX2 runs oneDNN
# and PyTorch as on an AVX2 CPU (twin_speed_avx2.md).
twin-speed: venv
	$(BIN)/python benchmarks/twin_speed.py --repeats 3 $(if $(ISA),--isa $(ISA))

# Downloads the nine released checkpoints (about 0.5 GB) and checks them; needs network.
test-network: venv
	$(BIN)/python -m pytest -m network --run-network tests

clean:
	rm -rf $(VENV) .venv-* *.egg-info

"""Throughput, latency, peak memory and accuracy of a zoo network along each inference path.

Every (model, batch size, path) is measured in its own subprocess, so that the peak
resident memory belongs to that path alone; all of them share one set of random weights
(BN statistics included) and one input batch, written once by the parent, which also
computes the reference output with the imperative float32 network. Paths:

- ``imperative``: the Gluon network as built, no hybridize;
- ``hybridized``: ``hybridize(static_alloc=True, static_shape=True)``;
- ``mkldnn``: the same with the MKLDNN subgraph backend;
- ``optimized``: ``gluon_aff.deploy.optimize`` (inference fusion form, folded BN,
  oneDNN activations, MKLDNN backend);
- ``onnxruntime``: the ONNX export (fusion in its inference form) run by ONNX Runtime;
- ``openvino``, ``openvino-bf16``, ``openvino-int8``: the OpenVINO export run by OpenVINO
  at float32, bfloat16 (CPUs with AVX512_BF16 or AMX) and int8 (quantised with NNCF on
  calibration images); the runtimes run without MXNet (``gluon_aff/deploy/runtimes.py``);
- ``torch``, ``torch-compile``: the PyTorch twin in channels-last, eager and through
  ``torch.compile``; ``torch-optimized``, ``torch-optimized-compile``: its inference form
  (``gluon_aff.torch.optimize``: BatchNorm folded, prepacked convolutions with their ReLU,
  residual sum and attention weight inside), eager and compiled with inductor's freezing;
  ``torch-bf16``: that form under bfloat16 autocast (CPUs with AVX512_BF16 or AMX);
  a model ``timm:NAME`` (e.g. ``timm:resnet50d``) is timm's own network on these paths;
- ``train``: one SGD step (forward, backward, update) of the hybridized network
  in training mode, per batch; ``torch-train``, ``torch-compile-train``: the same step of
  the PyTorch twin, eager and through ``torch.compile`` (at batch 1 with the fusion
  modules' BatchNorms on running statistics, which PyTorch needs for one image).

Accuracy (``accuracy=True``, the default when a reduced-precision path is measured): for
every path, the top-1 agreement with the float32 network on real photographs (crops of
the images matplotlib and scikit-learn ship, resized to the model's input), and the
validation accuracy of a network trained on the digits set (``digits_params``, or one
trained in the run), run through the same path; its int8 export is accuracy-controlled (a
0.3% drop at most on 300 training images held out from calibration; the ImageNet models'
random weights have no labels to control against). Warm-up runs are excluded from timings.

``benchmark_pair`` compares two networks on the PyTorch paths in one process, timed in
turn, for ratio targets: on a shared machine, times taken in separate processes, even
seconds apart, can meet different conditions, and their ratio moves with them.
"""
from .measure import benchmark, benchmark_pair
from .paths import INFERENCE_PATHS, PATHS, REDUCED_PATHS, TRAIN_PATHS, available_paths
from .inputs import DIGITS_MODEL, real_images
from .table import add_ratios, format_table, model_macs

__all__ = ['PATHS', 'INFERENCE_PATHS', 'REDUCED_PATHS', 'TRAIN_PATHS', 'benchmark',
           'benchmark_pair', 'format_table', 'available_paths', 'add_ratios', 'model_macs',
           'real_images', 'DIGITS_MODEL']

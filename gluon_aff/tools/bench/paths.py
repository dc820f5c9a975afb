"""The inference paths the bench measures, and which of them this machine can run."""

__all__ = ['PATHS', 'INFERENCE_PATHS', 'REDUCED_PATHS', 'TRAIN_PATHS', 'TORCH_PATHS', 'KEYS',
           'OPENVINO', 'TIMM_PREFIX', 'available_paths']

INFERENCE_PATHS = ('imperative', 'hybridized', 'mkldnn', 'optimized', 'onnxruntime',
                   'openvino', 'openvino-bf16', 'openvino-int8', 'torch', 'torch-compile',
                   'torch-optimized', 'torch-optimized-compile', 'torch-bf16')
# a training step: MXNet's hybridized network, the twin eager and through torch.compile
TRAIN_PATHS = ('train', 'torch-train', 'torch-compile-train')
# the PyTorch twin (gluon_aff.torch): eager in channels-last, through torch.compile, its
# inference form (gluon_aff.torch.optimize) eager and compiled, and that at bfloat16
TORCH_PATHS = ('torch', 'torch-compile', 'torch-optimized', 'torch-optimized-compile',
               'torch-bf16', 'torch-train', 'torch-compile-train')
REDUCED_PATHS = ('openvino-bf16', 'openvino-int8', 'torch-bf16')
# a model name 'timm:NAME' is timm's own network, measured on the PyTorch paths as a reference
TIMM_PREFIX = 'timm:'
PATHS = INFERENCE_PATHS + TRAIN_PATHS
KEYS = ('model', 'path', 'batch', 'img_per_s', 'p50_ms', 'p90_ms', 'peak_rss_mb',
        'max_rel_diff', 'top1_agreement', 'digits_acc', 'digits_acc_f32')
OPENVINO = {'openvino': 'f32', 'openvino-bf16': 'bf16', 'openvino-int8': 'int8'}
def available_paths():
    """The paths this machine can run; maps path -> None or the reason it is unavailable."""
    import importlib.util
    from ...deploy.optimized_form import mkldnn_available
    from ...deploy.runtimes import available_precisions
    reasons = dict.fromkeys(PATHS)
    if not mkldnn_available():
        reasons['mkldnn'] = 'this MXNet build has no MKLDNN backend'
    if importlib.util.find_spec('onnxruntime') is None:
        reasons['onnxruntime'] = 'onnxruntime is not installed (pip install onnxruntime)'
    if importlib.util.find_spec('torch') is None:
        for path in TORCH_PATHS:
            reasons[path] = 'torch is not installed (pip install torch)'
    openvino = available_precisions('openvino')
    for path, precision in OPENVINO.items():
        reasons[path] = openvino[precision]
    from ..isa_check import cpu_flags
    if reasons['torch-bf16'] is None and not {'avx512_bf16', 'amx_bf16'} & (cpu_flags() or set()):
        reasons['torch-bf16'] = ('this CPU has neither AVX512_BF16 nor AMX-BF16 (PyTorch would '
                                 'emulate bfloat16, slower than float32)')
    return reasons

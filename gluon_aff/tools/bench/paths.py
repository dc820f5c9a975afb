"""The inference paths the bench measures, and which of them this machine can run."""

__all__ = ['PATHS', 'INFERENCE_PATHS', 'REDUCED_PATHS', 'TRAIN_PATHS', 'TORCH_PATHS', 'KEYS',
           'OPENVINO', 'available_paths']

INFERENCE_PATHS = ('imperative', 'hybridized', 'mkldnn', 'optimized', 'onnxruntime',
                   'openvino', 'openvino-bf16', 'openvino-int8', 'torch', 'torch-compile')
# a training step: MXNet's hybridized network, the twin eager and through torch.compile
TRAIN_PATHS = ('train', 'torch-train', 'torch-compile-train')
# the PyTorch twin (gluon_aff.torch): eager in channels-last, and through torch.compile
TORCH_PATHS = ('torch', 'torch-compile', 'torch-train', 'torch-compile-train')
REDUCED_PATHS = ('openvino-bf16', 'openvino-int8')
PATHS = INFERENCE_PATHS + TRAIN_PATHS
KEYS = ('model', 'path', 'batch', 'img_per_s', 'p50_ms', 'p90_ms', 'peak_rss_mb',
        'max_rel_diff', 'top1_agreement', 'digits_acc', 'digits_acc_f32')
OPENVINO = {'openvino': 'f32', 'openvino-bf16': 'bf16', 'openvino-int8': 'int8'}
# the network trained on the digits set for the accuracy columns
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
    return reasons

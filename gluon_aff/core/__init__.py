"""What both frameworks share and neither needs: the zoo's declaration and preprocessing,
the released checkpoints and their download, the MXNet ``.params`` format read with numpy,
atomic writes, the original's AutoAugment policy on PIL images, the training-history plot
and the worker-process protocol. Nothing here imports MXNet or PyTorch
(``tests/test_layers.py`` checks it)."""

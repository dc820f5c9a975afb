"""The preprocessing each zoo family's weights were trained and evaluated with (RGB mean and
std on [0, 1] pixels, the evaluation resize): one table for MXNet, ONNX/OpenVINO serving
and the PyTorch twin's timm configs. Needs neither framework."""

__all__ = ['IMAGENET_PREPROCESS', 'CIFAR_PREPROCESS', 'SEGMENTATION_PREPROCESS']

IMAGENET_PREPROCESS = dict(input_size=224, mean=(0.485, 0.456, 0.406),
                           std=(0.229, 0.224, 0.225), crop_ratio=0.875,
                           interpolation='bilinear', classes=1000)
CIFAR_PREPROCESS = dict(input_size=32, mean=(0.4914, 0.4822, 0.4465),
                        std=(0.2023, 0.1994, 0.2010), crop_ratio=1.0,
                        interpolation=None, classes=100)
# StopSign crops: ImageNet normalisation, two classes (background, stop sign)
SEGMENTATION_PREPROCESS = dict(input_size=128, mean=(0.485, 0.456, 0.406),
                               std=(0.229, 0.224, 0.225), crop_ratio=1.0,
                               interpolation='bilinear', classes=2)

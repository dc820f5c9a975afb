"""gluon-aff: Attentional Feature Fusion for MXNet/Gluon (faithful port and model zoo)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, 'gluon_aff', '__init__.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


# Compatible ranges of the direct dependencies (requirements*.txt pin the tested sets).
# The package itself needs only what gluon_aff.core does; each side is an extra:
# - [mxnet]: the MXNet side's dependencies, but not MXNet, as in gluoncv: users pick their
#   build (mxnet, or a CUDA variant such as mxnet-cu112), and mxnet 1.9.1's metadata pins
#   numpy<2, which would downgrade numpy under every other package. Install it with
#   `pip install --no-deps -r requirements-mxnet.txt`; gluon_aff/mxnet_compat.py makes it
#   run on numpy 2 and Python 3.12+. MXNet's own two dependencies (graphviz, requests) are
#   listed here.
# - [torch]: the PyTorch twin (gluon_aff.torch), which needs nothing of the MXNet side.
# - [serve]: ONNX Runtime, OpenVINO and NNCF for serving exported files (no MXNet needed).
REQUIRES = ['numpy>=1.21,<3', 'requests>=2.20,<3', 'tqdm>=4.60', 'Pillow>=9']
EXTRAS = {
    'mxnet': ['gluoncv>=0.10.5,<0.11', 'graphviz>=0.8.1,<0.9', 'opencv-python>=4.5',
              'matplotlib>=3.5', 'pandas>=1.3', 'scipy>=1.7', 'scikit-learn>=1.0',
              'pycocotools>=2.0.6', 'onnx>=1.14', 'setuptools>=60; python_version >= "3.12"'],
    'torch': ['torch>=2.1', 'torchvision>=0.16', 'timm>=1.0', 'safetensors>=0.4',
              'opencv-python>=4.5', 'matplotlib>=3.5'],
    'serve': ['onnxruntime>=1.16', 'openvino>=2024.0', 'nncf>=2.10', 'opencv-python>=4.5'],
    'test': ['pytest>=8', 'pytest-xdist>=3.5', 'pytest-timeout>=2.2',
             'segmentation-models-pytorch>=0.5', 'ultralytics>=8.3'],
}

setup(
    name='gluon-aff',
    version=_version(),
    description='Attentional Feature Fusion (AFF, iAFF, MS-CAM) model zoo for MXNet/GluonCV and PyTorch/timm',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['gluon_aff', 'gluon_aff.*']),
    package_data={'gluon_aff.core': ['released.json', 'class_names.json']},
    install_requires=REQUIRES,
    extras_require=EXTRAS,
    entry_points={'console_scripts': ['gluon-aff = gluon_aff.cli:main']},
)

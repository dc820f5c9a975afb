"""gluon-aff: Attentional Feature Fusion for MXNet/Gluon (faithful port and model zoo)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, 'gluon_aff', '__init__.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


# Compatible ranges of the direct dependencies (requirements.txt pins the tested sets).
# MXNet is not among them, as in gluoncv: users pick their build (mxnet, or a CUDA variant
# such as mxnet-cu112), and mxnet 1.9.1's metadata pins numpy<2, which would downgrade numpy
# under every other package. Install it with `pip install --no-deps -r
# requirements-mxnet.txt`; gluon_aff/mxnet_compat.py makes it run on numpy 2 and on Python
# 3.12+. MXNet's own two dependencies (graphviz, requests) are listed here.
REQUIRES = ['numpy>=1.21,<3', 'gluoncv>=0.10.5,<0.11', 'graphviz>=0.8.1,<0.9',
            'requests>=2.20,<3', 'opencv-python>=4.5', 'matplotlib>=3.5', 'pandas>=1.3',
            'scipy>=1.7', 'Pillow>=9', 'scikit-learn>=1.0', 'tqdm>=4.60',
            'pycocotools>=2.0.6', 'onnx>=1.14', 'setuptools>=60; python_version >= "3.12"']
EXTRAS = {
    'test': ['pytest>=8', 'pytest-xdist>=3.5', 'pytest-timeout>=2.2'],
    # serving runtimes: ONNX Runtime, OpenVINO, and NNCF for int8 quantisation
    'serve': ['onnxruntime>=1.16', 'openvino>=2024.0', 'nncf>=2.10'],
    # the PyTorch twin (gluon_aff.torch): timm registration, safetensors checkpoints
    'torch': ['torch>=2.1', 'torchvision>=0.16', 'timm>=1.0', 'safetensors>=0.4'],
}


setup(
    name='gluon-aff',
    version=_version(),
    description='Attentional Feature Fusion (AFF, iAFF, MS-CAM) model zoo for MXNet/GluonCV',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['gluon_aff', 'gluon_aff.*']),
    package_data={'gluon_aff.core': ['released.json']},
    install_requires=REQUIRES,
    extras_require=EXTRAS,
    entry_points={'console_scripts': ['gluon-aff = gluon_aff.cli:main']},
)

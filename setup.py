"""gluon-aff: Attentional Feature Fusion for MXNet/Gluon (faithful port and model zoo)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, 'gluon_aff', '__init__.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


# Compatible ranges of the direct dependencies (requirements.txt pins the tested set).
# MXNet 1.9.1 is the last 1.x; it runs on numpy 1.x >= 1.24 and Python 3.12 only through
# gluon_aff/mxnet_compat.py, and numpy 2 is untested (see the README).
REQUIRES = ['mxnet>=1.9.1,<2', 'numpy>=1.21,<2', 'gluoncv>=0.10.5,<0.11',
            'opencv-python>=4.5', 'matplotlib>=3.5', 'pandas>=1.3', 'scipy>=1.7',
            'Pillow>=9', 'scikit-learn>=1.0', 'tqdm>=4.60', 'requests>=2.25',
            'pycocotools>=2.0.6', 'onnx>=1.14', 'setuptools>=60; python_version >= "3.12"']
EXTRAS = {
    'test': ['pytest>=8', 'pytest-xdist>=3.5', 'pytest-timeout>=2.2'],
    # serving runtimes: ONNX Runtime, OpenVINO, and NNCF for int8 quantisation
    'serve': ['onnxruntime>=1.16', 'openvino>=2024.0', 'nncf>=2.10'],
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
    package_data={'gluon_aff.model_zoo': ['released.json']},
    install_requires=REQUIRES,
    extras_require=EXTRAS,
    entry_points={'console_scripts': ['gluon-aff = gluon_aff.cli:main']},
)

"""gluon-aff: Attentional Feature Fusion for MXNet/Gluon (faithful port and model zoo)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, 'gluon_aff', '__init__.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


# Direct dependencies; requirements.txt pins the whole environment.
REQUIRES = ['mxnet==1.9.1', 'numpy==1.23.5', 'gluoncv==0.10.5.post0', 'opencv-python==4.8.1.78',
            'matplotlib==3.7.5', 'pandas==2.0.3', 'scipy==1.11.4', 'Pillow==10.4.0',
            'scikit-learn==1.3.2', 'tqdm==4.66.5', 'requests==2.32.3', 'pycocotools==2.0.7']


setup(
    name='gluon-aff',
    version=_version(),
    description='Attentional Feature Fusion (AFF, iAFF, MS-CAM) model zoo for MXNet/GluonCV',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['gluon_aff', 'gluon_aff.*']),
    package_data={'gluon_aff.model_zoo': ['released.json']},
    install_requires=REQUIRES,
    extras_require={'test': ['pytest==8.3.3'], 'onnx': ['onnx==1.14.1']},
    entry_points={'console_scripts': ['gluon-aff = gluon_aff.cli:main']},
)

"""gluon-aff: Attentional Feature Fusion for MXNet/Gluon (faithful port and model zoo)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, 'gluon_aff', '__init__.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def _requirements():
    with open(os.path.join(HERE, 'requirements.txt')) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


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
    install_requires=_requirements(),
    extras_require={'test': ['pytest==8.3.3']},
    entry_points={'console_scripts': ['gluon-aff = gluon_aff.cli:main']},
)

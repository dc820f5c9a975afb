"""After `pip install '.[mxnet]'` into an environment that already held numpy 2 and pandas (see
`make install-check`): numpy is the version it was, the package imports without MXNet for
serving, and the zoo says how to install MXNet.

    python tests/install_check.py NUMPY_VERSION_BEFORE
"""
import sys

import numpy


def main(before):
    assert numpy.__version__ == before, 'pip install .[mxnet] changed numpy from %s to %s' % (
        before, numpy.__version__)
    import pandas  # noqa: F401
    import gluon_aff
    from gluon_aff.deploy.runtimes import Classifier  # noqa: F401
    try:
        gluon_aff.get_model
    except ImportError as e:
        assert 'pip install --no-deps mxnet==1.9.1' in str(e), e
        print('numpy %s kept; without MXNet: %s' % (numpy.__version__, e))
        return 0
    raise AssertionError('gluon_aff.get_model imported although MXNet was not installed')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))

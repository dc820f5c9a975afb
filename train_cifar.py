#!/usr/bin/env python
"""Train AFF/iAFF CIFAR networks; `python train_cifar.py --help` lists the flags."""
import sys

from gluon_aff.train.cifar import main

if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python
"""Train AFF/iAFF ImageNet networks; `python train_imagenet.py --help` lists the flags."""
import sys

from gluon_aff.train.imagenet import main

if __name__ == '__main__':
    sys.exit(main())

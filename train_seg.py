#!/usr/bin/env python
"""Train ResNet-20-b + FPN on StopSign; `python train_seg.py --help` lists the flags."""
import sys

from gluon_aff.train.seg import main

if __name__ == '__main__':
    sys.exit(main())

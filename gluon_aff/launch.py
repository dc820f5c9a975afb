"""``python -m gluon_aff.launch`` keeps working: the launcher of several machines moved to
``gluon_aff.train.launch`` (``python -m gluon_aff.train.launch``, as docs/distributed.md
shows); this says so and runs it with the same arguments."""
import sys

from .train.launch import main

if __name__ == '__main__':
    print('[launch] gluon_aff.launch moved to gluon_aff.train.launch: run '
          '`python -m gluon_aff.train.launch` from now on', file=sys.stderr, flush=True)
    sys.exit(main())

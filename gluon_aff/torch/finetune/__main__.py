"""``python -m gluon_aff.torch.finetune MODEL DATA_DIR [options]`` (``--help``)."""
import sys

from . import main

sys.exit(main())

"""See `python tools/train_cls.py --help`."""

import sys

from dla_dense.cli.train import cls_main

if __name__ == "__main__":
    sys.exit(cls_main())

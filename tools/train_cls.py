"""See `python tools/train_cls.py --help`."""

import sys

from dla_dense.cli.train_cls import main

if __name__ == "__main__":
    sys.exit(main())

"""See `python tools/train_seg.py --help`."""

import sys

from dla_dense.cli.train_seg import main

if __name__ == "__main__":
    sys.exit(main())

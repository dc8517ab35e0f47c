"""See `python tools/train_seg.py --help`."""

import sys

from dla_dense.cli.train import seg_main

if __name__ == "__main__":
    sys.exit(seg_main())

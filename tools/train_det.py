"""See `python tools/train_det.py --help`."""

import sys

from dla_dense.cli.train import det_main

if __name__ == "__main__":
    sys.exit(det_main())

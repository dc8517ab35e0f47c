"""See `python tools/train_det.py --help`."""

import sys

from dla_dense.cli.train_det import main

if __name__ == "__main__":
    sys.exit(main())

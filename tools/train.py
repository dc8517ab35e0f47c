"""See `python tools/train.py --help`."""

import sys

from dla_dense.cli.train import main

if __name__ == "__main__":
    sys.exit(main())

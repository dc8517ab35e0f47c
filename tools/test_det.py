"""See `python tools/test_det.py --help`."""

import sys

from dla_dense.cli.test_det import main

if __name__ == "__main__":
    sys.exit(main())

"""See `python tools/test_det.py --help`."""

import sys

from dla_dense.cli.test import det_main

if __name__ == "__main__":
    sys.exit(det_main())

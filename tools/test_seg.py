"""See `python tools/test_seg.py --help`."""

import sys

from dla_dense.cli.test import seg_main

if __name__ == "__main__":
    sys.exit(seg_main())

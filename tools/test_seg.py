"""See `python tools/test_seg.py --help`."""

import sys

from dla_dense.cli.test_seg import main

if __name__ == "__main__":
    sys.exit(main())

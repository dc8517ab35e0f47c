"""See `python tools/test.py --help`."""

import sys

from dla_dense.cli.test import main

if __name__ == "__main__":
    sys.exit(main())

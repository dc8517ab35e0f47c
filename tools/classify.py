"""See `python tools/classify.py --help`."""

import sys

from dla_dense.cli.classify import main

if __name__ == "__main__":
    sys.exit(main())

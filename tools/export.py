"""See `python tools/export.py --help`."""

import sys

from dla_dense.cli.export import main

if __name__ == "__main__":
    sys.exit(main())

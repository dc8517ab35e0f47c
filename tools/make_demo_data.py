"""See `python tools/make_demo_data.py --help`."""

import sys

from dla_dense.cli.make_demo_data import main

if __name__ == "__main__":
    sys.exit(main())

"""See `python tools/infer.py --help`."""

import sys

from dla_dense.cli.infer import main

if __name__ == "__main__":
    sys.exit(main())

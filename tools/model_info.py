"""See `python tools/model_info.py --help`."""

import sys

from dla_dense.cli.model_info import main

if __name__ == "__main__":
    sys.exit(main())

"""See `python tools/benchmark.py --help`."""

import sys

from dla_dense.cli.benchmark import main

if __name__ == "__main__":
    sys.exit(main())

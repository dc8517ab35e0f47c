"""See `python tools/plot_log.py --help`."""

import sys

from dla_dense.cli.plot_log import main

if __name__ == "__main__":
    sys.exit(main())

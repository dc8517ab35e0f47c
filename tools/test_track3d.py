"""See `python tools/test_track3d.py --help`: tools/test.py restricted to track3d configs."""

import sys
from pathlib import Path

from dla_dense.cli.test import main

if __name__ == "__main__":
    sys.exit(main(task=Path(__file__).stem.removeprefix("test_")))

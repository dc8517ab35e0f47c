"""See `python tools/train_track3d.py --help`: tools/train.py restricted to track3d configs."""

import sys
from pathlib import Path

from dla_dense.cli.train import main

if __name__ == "__main__":
    sys.exit(main(task=Path(__file__).stem.removeprefix("train_")))

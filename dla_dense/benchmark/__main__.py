"""``python -m dla_dense.benchmark KWARGS_JSON OUT_JSON``: one benchmark run in a fresh process."""

import sys

from .run import _child_main

sys.exit(_child_main(sys.argv[1:]))

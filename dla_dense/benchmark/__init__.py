"""Throughput, peak memory and compute efficiency of the dense-prediction models, with variants compared.

:func:`run_benchmark` measures a config file (``configs/*.py``) or a model spec (``seg:dla34``,
``det:dla34:dcn``): eval forward passes (``no_grad``) and training steps (forward, the task's loss,
backward, optimizer step) after warm-up. Variants (:data:`.variants.VARIANTS`) run round-robin in the same process,
one iteration each per round, so machine noise hits all of them alike, and every variant's time is divided
into the baseline's time of the same round (paired ratios). :func:`format_report` renders the result as
plain text tables; ``tools/benchmark.py`` is the command line.
"""

from .measure import MEMORY_ROUNDS, MemoryProbe
from .report import format_report
from .run import MODES, run_benchmark
from .variants import VARIANTS, Variant, resolve_target, select_variants

__all__ = [
    "MEMORY_ROUNDS",
    "MODES",
    "VARIANTS",
    "MemoryProbe",
    "Variant",
    "format_report",
    "resolve_target",
    "run_benchmark",
    "select_variants",
]

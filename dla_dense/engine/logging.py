"""Run logs: console lines that coexist with the progress bar, a text log, JSON lines, TensorBoard."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..evaluation.undefined import is_defined, json_safe

LOGGER_NAME = "dla_dense"


class _TqdmHandler(logging.StreamHandler):
    def emit(self, record: logging.LogRecord) -> None:
        tqdm.write(self.format(record), file=sys.stderr)


def setup_logger(work_dir: str | Path | None = None, *, main: bool = True) -> logging.Logger:
    """Configure the ``dla_dense`` logger: console (through tqdm) on the main process, plus ``work_dir/run.log``."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO if main else logging.WARNING)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    console = _TqdmHandler()
    console.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(console)
    if work_dir is not None and main:
        file = logging.FileHandler(Path(work_dir) / "run.log")
        file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(file)
    return logger


def get_logger() -> logging.Logger:
    """The ``dla_dense`` logger, set up for the console if no tool has configured it yet."""
    logger = logging.getLogger(LOGGER_NAME)
    return logger if logger.handlers else setup_logger()


class MetricsWriter:
    """Appends one JSON object per record to ``work_dir/metrics.jsonl`` (and TensorBoard scalars)."""

    def __init__(self, work_dir: str | Path, *, tensorboard: bool = False) -> None:
        self.path = Path(work_dir) / "metrics.jsonl"
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(Path(work_dir) / "tensorboard"))

    def write(self, mode: str, iteration: int, values: dict[str, Any]) -> None:
        """Record ``values`` (numbers) of ``mode`` ('train' or 'val') at ``iteration``."""
        record = {"mode": mode, "iter": iteration, **json_safe(values)}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in values.items():
                if is_defined(value):
                    self._tb.add_scalar(f"{mode}/{key}", value, iteration)

    def close(self) -> None:
        """Flush TensorBoard, if used."""
        if self._tb is not None:
            self._tb.close()

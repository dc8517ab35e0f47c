"""``python tools/train.py CONFIG``: train the model of any task's config; ``train_seg.py``, ``train_det.py`` and
``train_cls.py`` are the same command restricted to one task."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._common import run
from ._train import train_main

#: prog and description of each form of the command (None: any task).
COMMANDS: dict[str | None, tuple[str, str]] = {
    None: ("train.py", "Train the model of a config, whatever its task (model.task); torchrun for several processes."),
    "seg": ("train_seg.py", "Train a DLA-up segmentation model from a config (torchrun for several processes)."),
    "det": ("train_det.py", "Train a CenterNet-style DLA detector from a config (torchrun for several processes)."),
    "cls": (
        "train_cls.py",
        "Fine-tune a DLA ImageNet classifier on an ImageFolder (root/<split>/<class>/*); reports top-1/top-5.",
    ),
}


def main(argv: Sequence[str] | None = None, *, task: str | None = None) -> int:
    """Entry point of ``tools/train.py`` (``task`` None) and of its task-restricted forms."""
    prog, description = COMMANDS[task]
    return run(lambda args: train_main(args, prog=prog, description=description, task=task), argv)


def seg_main(argv: Sequence[str] | None = None) -> int:
    """``tools/train_seg.py``, ``dla-dense-train-seg``."""
    return main(argv, task="seg")


def det_main(argv: Sequence[str] | None = None) -> int:
    """``tools/train_det.py``, ``dla-dense-train-det``."""
    return main(argv, task="det")


def cls_main(argv: Sequence[str] | None = None) -> int:
    """``tools/train_cls.py``, ``dla-dense-train-cls``."""
    return main(argv, task="cls")


if __name__ == "__main__":
    sys.exit(main())

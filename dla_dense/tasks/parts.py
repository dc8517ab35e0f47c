"""Declared parts of a task that are values, not behaviour: its texts for the tools and what the benchmark runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskInfo:
    """What the tools say about a task."""

    #: What the task trains, in words (the task-restricted tools' help: ``train_<name>.py``).
    title: str
    #: What its evaluation reports, in words (``test_<name>.py``'s help).
    reports: str
    #: What ``tools/infer.py`` writes per image, in words (its help text); empty: the task draws nothing.
    infer_output: str = ""
    #: The suffix of the picture ``tools/infer.py`` writes per image (``<stem>_<suffix>.jpg``).
    infer_suffix: str = "pred"
    #: Where to go instead when the task draws nothing.
    infer_elsewhere: str = "use tools/test.py"


@dataclass(frozen=True)
class BenchmarkSpec:
    """What ``tools/benchmark.py`` measures for a task."""

    #: Input ``(H, W)`` of the inference timing; None: the benchmark does not cover the task.
    input_size: tuple[int, int] | None = None
    #: The variants a bare ``--compare`` runs against eager.
    compare: tuple[str, ...] = ("fast", "bf16")
    #: Other networks the task's may be compared with (``benchmark.variants.Variant.arch``).
    archs: tuple[str, ...] = ()
    #: What is measured by default: ``infer`` (the network), ``train`` (a step) and, for tasks that carry state
    #: from frame to frame, ``frame`` (a video through a Predictor stream, every stage included).
    modes: tuple[str, ...] = ("infer", "train")

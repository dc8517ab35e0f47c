"""Each task's config schemas: the dataclasses validating its ``model``, ``data`` and ``evaluation`` sections (the
other sections are common to all tasks). :data:`TASK_SCHEMAS` maps a task name to them; the task class in
:mod:`dla_dense.tasks` uses the same classes."""

from __future__ import annotations

from .cls import ClsDataConfig
from .ddd import DddDataConfig, DddEvalConfig, DddModelConfig
from .det import DetDataConfig, DetEvalConfig, DetModelConfig
from .fairmot import FairMotDataConfig, FairMotEvalConfig, FairMotModelConfig
from .pose import PoseDataConfig, PoseEvalConfig, PoseModelConfig
from .seg import SegDataConfig, SegEvalConfig, SegModelConfig
from .track import TrackDataConfig, TrackEvalConfig, TrackModelConfig
from .track3d import Track3dDataConfig, Track3dEvalConfig, Track3dModelConfig

#: Task name -> its section schemas.
TASK_SCHEMAS: dict[str, dict[str, type]] = {
    "seg": {"model": SegModelConfig, "data": SegDataConfig, "evaluation": SegEvalConfig},
    "det": {"model": DetModelConfig, "data": DetDataConfig, "evaluation": DetEvalConfig},
    "cls": {"data": ClsDataConfig},
    "pose": {"model": PoseModelConfig, "data": PoseDataConfig, "evaluation": PoseEvalConfig},
    "track": {"model": TrackModelConfig, "data": TrackDataConfig, "evaluation": TrackEvalConfig},
    "fairmot": {"model": FairMotModelConfig, "data": FairMotDataConfig, "evaluation": FairMotEvalConfig},
    "ddd": {"model": DddModelConfig, "data": DddDataConfig, "evaluation": DddEvalConfig},
    "track3d": {"model": Track3dModelConfig, "data": Track3dDataConfig, "evaluation": Track3dEvalConfig},
}

__all__ = [
    "TASK_SCHEMAS",
    "ClsDataConfig",
    "DddDataConfig",
    "DddEvalConfig",
    "DddModelConfig",
    "DetDataConfig",
    "DetEvalConfig",
    "DetModelConfig",
    "FairMotDataConfig",
    "FairMotEvalConfig",
    "FairMotModelConfig",
    "PoseDataConfig",
    "PoseEvalConfig",
    "PoseModelConfig",
    "SegDataConfig",
    "SegEvalConfig",
    "SegModelConfig",
    "Track3dDataConfig",
    "Track3dEvalConfig",
    "Track3dModelConfig",
    "TrackDataConfig",
    "TrackEvalConfig",
    "TrackModelConfig",
]

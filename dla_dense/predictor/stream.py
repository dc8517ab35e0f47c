"""Streams: the consecutive frames of one video or camera through a :class:`~dla_dense.Predictor`.

A stream keeps what its task carries from frame to frame (``task.info.stream_state``: nothing for single-image
tasks, the previous frame and the tracker for trackers) and starts afresh on :meth:`Stream.reset`. Use one stream
per video. A tracking task's stream composes the predictor with a tracker of the tracker registry
(:data:`~dla_dense.tracking.TRACKERS`; ``tracker=`` picks one, checked once against the fields the model's heads
decode).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DLADenseError

if TYPE_CHECKING:
    from ..inference.results import Result
    from .predictor import ImageLike, Predictor


class Stream:
    """``stream(frame)`` -> the result of the next frame of one video; ``stream(frames)`` -> results of the
    next frames, in order. ``reset()`` forgets the video (call it, or make a new stream, before another)."""

    def __init__(self, predictor: Predictor, *, tracker: str | None = None, **options: Any) -> None:
        self.predictor = predictor
        #: The tracker this stream follows objects with (None: the task's configured one).
        self.tracker = tracker
        self.options = options
        self.state = self._new_state()
        #: Frames seen since the stream started or was reset.
        self.frames = 0

    def reset(self) -> None:
        """Forget every frame seen so far: the next frame is a video's first."""
        self.state = self._new_state()
        self.frames = 0

    def _new_state(self) -> Any:
        task = self.predictor.task
        make = task.info.stream_state
        if make is None and self.tracker is not None:
            raise DLADenseError(f"task '{task.name}' does not follow objects through a video; leave tracker= out")
        return None if make is None else make(task, self.tracker)

    def __call__(self, frames: ImageLike | Sequence[ImageLike], **fields: Any) -> Result | list[Result]:
        """The result of the next frame (or of the next ``frames``); ``fields``: the frame's named fields
        (``frame_id=12``, ``calib=K``; one value per frame for a list), kept as ``result.fields``."""
        single = not isinstance(frames, (list, tuple))
        options = {**self.options, **fields}
        results = self.predictor.predict(
            [frames] if single else list(frames), state=self.state, single=single, **options
        )
        self.frames += len(results)
        return results[0] if single else results

"""Streams: the consecutive frames of one video or camera through a :class:`~dla_dense.Predictor`.

A stream keeps what its task carries from frame to frame (``task.info.stream_state``: nothing for single-image
tasks, the previous frame and the tracks for trackers) and starts afresh on :meth:`Stream.reset`. Use one stream
per video.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..inference.results import Result
    from .predictor import ImageLike, Predictor


class Stream:
    """``stream(frame)`` -> the result of the next frame of one video; ``stream(frames)`` -> results of the
    next frames, in order. ``reset()`` forgets the video (call it, or make a new stream, before another)."""

    def __init__(self, predictor: Predictor, **options: Any) -> None:
        self.predictor = predictor
        self.options = options
        self.state = self._new_state()
        #: Frames seen since the stream started or was reset.
        self.frames = 0

    def reset(self) -> None:
        """Forget every frame seen so far: the next frame is a video's first."""
        self.state = self._new_state()
        self.frames = 0

    def _new_state(self) -> Any:
        make = self.predictor.task.info.stream_state
        return None if make is None else make(self.predictor.task)

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

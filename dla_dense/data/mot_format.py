"""The MOT Challenge text format: the columns of ``gt.txt`` and result rows, one sequence's ground truth, and
writing result files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DLADenseError

#: MOT Challenge classes whose ground truth marks regions where a pedestrian track is not a false positive
#: (person on vehicle, static person, distractor, reflection; MOT17 scoring).
MOT_DISTRACTORS = (2, 7, 8, 12)
#: Columns of MOT Challenge ``gt.txt`` / result rows (a result row has the score where ``gt.txt`` has the flag).
FRAME, TRACK_ID, LEFT, TOP, WIDTH, HEIGHT, FLAG, CLASS, VISIBILITY = range(9)
SCORE = FLAG


@dataclass(frozen=True)
class GroundTruth:
    """One sequence's ground truth: ``rows [R, 9]`` in ``gt.txt`` columns (frame, id, left, top, width, height,
    flag, class, visibility; frames 1..``length``) with the dataset's MOT class ids."""

    rows: np.ndarray
    length: int

    def check(self, sequence: str) -> None:
        """Raise one line for what TrackEval cannot score: an object without an identity (id < 0) or an
        identity twice in one frame."""
        rows = self.rows[self.rows[:, FLAG] != 0]
        unnamed = rows[rows[:, TRACK_ID] < 0]
        if len(unnamed):
            raise DLADenseError(
                f"the ground truth of video '{sequence}' has an object without a track id (frame "
                f"{int(unnamed[0, FRAME])}); tracking is scored per identity: give every object of the evaluated "
                "split a track id (video-COCO 'track_id')"
            )
        keys, counts = np.unique(rows[:, [FRAME, TRACK_ID]], axis=0, return_counts=True)
        if (counts > 1).any():
            frame, track = keys[np.argmax(counts > 1)].astype(int)
            raise DLADenseError(
                f"the ground truth of video '{sequence}' has track id {track} twice in frame {frame}; "
                "an identity can be at one place per frame"
            )


def mot_rows(frame: int, tracks: Mapping[str, Any]) -> np.ndarray:
    """MOT result rows ``[N, 10]`` (frame, id, left, top, width, height, score, -1, -1, -1) of one frame's tracks
    (``boxes`` x1y1x2y2, ``scores``, ``track_ids``)."""
    boxes = np.asarray(tracks["boxes"], np.float64).reshape(-1, 4)
    rows = np.full((len(boxes), 10), -1.0)
    rows[:, FRAME] = frame
    rows[:, TRACK_ID] = np.asarray(tracks["track_ids"]).reshape(-1)
    rows[:, LEFT : TOP + 1] = boxes[:, :2]
    rows[:, WIDTH : HEIGHT + 1] = boxes[:, 2:] - boxes[:, :2]
    rows[:, SCORE] = np.asarray(tracks["scores"]).reshape(-1)
    return rows


def write_mot(path: Path, rows: np.ndarray) -> None:
    """Write MOT rows as a comma-separated text file (frame and id as integers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{int(r[FRAME])},{int(r[TRACK_ID])},"
        + ",".join(f"{v:.2f}" if abs(v - round(v)) > 1e-9 else str(int(round(v))) for v in r[LEFT:])
        for r in rows
    ]
    path.write_text("".join(line + "\n" for line in lines))

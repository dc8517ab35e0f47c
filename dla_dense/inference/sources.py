"""What ``tools/infer.py`` reads: image files, folders (recursive), globs, video files and webcams.

:func:`expand_sources` turns the command line's sources into a list of :class:`Source` (one image, one video
or one camera each); :func:`video_frames` reads a video or camera as RGB frames with OpenCV, and
:class:`VideoWriter` writes annotated frames at the input's frame rate.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import DLADenseError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"})


@dataclass(frozen=True)
class Source:
    """One input: ``kind`` is "image", "video" or "camera"; ``path`` a file (or the camera index as text);
    ``stem`` the unique name its outputs start with."""

    kind: str
    path: str
    stem: str


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_EXTENSIONS else "video" if suffix in VIDEO_EXTENSIONS else None


def _folder(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and _kind(p) is not None)
    if not files:
        raise DLADenseError(
            f"folder '{folder}' has no images or videos (looked for {', '.join(sorted(IMAGE_EXTENSIONS))}, "
            f"{', '.join(sorted(VIDEO_EXTENSIONS))} in any case, recursively)"
        )
    return files


def _paths(spec: str) -> list[Path]:
    path = Path(spec)
    if path.is_dir():
        return _folder(path)
    if path.is_file():
        return [path]
    if glob.has_magic(spec):
        found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not found:
            raise DLADenseError(f"no file matches '{spec}'")
        return found
    raise DLADenseError(f"source not found: '{spec}'; pass image or video files, folders, globs or a webcam index")


def expand_sources(specs: Sequence[str]) -> list[Source]:
    """Sources of ``specs``: files, folders (every image and video below, extensions in any case), globs
    (``**`` recursive) and webcam indices (``"0"``). A file that is neither an image nor a video is an error;
    output stems repeat no earlier one (``name-2``, ``name-3``, ...)."""
    sources: list[tuple[str, str, str]] = []
    for spec in specs:
        if spec.isdigit() and not Path(spec).exists():
            sources.append(("camera", spec, f"webcam{spec}"))
            continue
        for path in _paths(spec):
            kind = _kind(path)
            if kind is None:
                raise DLADenseError(
                    f"'{path}' is neither an image nor a video (its extension '{path.suffix}' is not one of "
                    f"{', '.join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS))})"
                )
            sources.append((kind, str(path), path.stem))
    seen: set[str] = set()
    unique = []
    for kind, path, stem in sources:
        name, n = stem, 1
        while name in seen:
            n += 1
            name = f"{stem}-{n}"
        seen.add(name)
        unique.append(Source(kind, path, name))
    return unique


def open_video(source: Source) -> cv2.VideoCapture:
    """An opened OpenCV capture of a video file or camera; a one-line error when it cannot be opened."""
    capture = cv2.VideoCapture(int(source.path) if source.kind == "camera" else source.path)
    if not capture.isOpened():
        what = f"webcam {source.path}" if source.kind == "camera" else f"video '{source.path}'"
        raise DLADenseError(f"cannot open {what}; check that it exists and that OpenCV can decode it")
    return capture


def frame_count(source: Source) -> int | None:
    """The number of frames of a video file as its container states it (None for cameras or when unknown)."""
    if source.kind != "video":
        return None
    capture = open_video(source)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return count if count > 0 else None


def video_fps(capture: cv2.VideoCapture) -> float:
    """The capture's frame rate (0 when the container does not say)."""
    return float(capture.get(cv2.CAP_PROP_FPS))


def video_frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
    """RGB uint8 frames ``[H, W, 3]`` until the capture ends."""
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


class VideoWriter:
    """Writes RGB frames to an ``.mp4`` (``mp4v``) at ``fps``; frames of another size are resized to the first
    frame's size. Written to a temporary name and moved into place by :meth:`close`."""

    def __init__(self, path: str | os.PathLike, fps: float) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        self.fps = fps if fps and fps > 0 else 30.0
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB frame ``[H, W, 3]``."""
        if self.writer is None:
            self.size = (rgb.shape[1], rgb.shape[0])
            self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
            if not self.writer.isOpened():
                raise DLADenseError(f"cannot write video '{self.path}': OpenCV has no mp4v encoder here")
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size)
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> Path | None:
        """Finish the file; returns its path (None when no frame was written)."""
        if self.writer is None:
            return None
        self.writer.release()
        os.replace(self.tmp, self.path)
        return self.path

"""``python tools/infer.py CONFIG CHECKPOINT SOURCE...``: draw a trained model's predictions on images, folders,
globs, videos or a webcam, optionally saving them as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from ..data.kitti_format import read_kitti_calib
from ..errors import DLADenseError, about_input
from ..inference.results import DrawOptions, Result
from ..inference.sources import (
    Source,
    VideoWriter,
    expand_sources,
    frame_count,
    open_video,
    video_fps,
    video_frames,
)
from ..outputs import output_dir
from ..predictor import Predictor, as_rgb
from ..tasks import TASKS
from ..tasks.base import no_inference
from ..tracking import TRACKERS
from ._common import add_engine_args, engine_options, run


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the infer tool."""
    p = argparse.ArgumentParser(
        prog="infer.py",
        description="Run a trained model on images, folders, globs, videos or a webcam and draw its predictions: "
        + "; ".join(f"{name}: {cls.info.infer_output}" for name, cls in TASKS.items() if cls.info.infer_output)
        + ". Videos and webcams give an annotated .mp4 at the input's frame rate.",
    )
    p.add_argument("config", help="the config the model was trained with")
    p.add_argument("checkpoint", help="model checkpoint")
    p.add_argument(
        "sources", nargs="*", metavar="SOURCE", help="image or video files, folders (recursive), globs, webcam index"
    )
    p.add_argument("--source", action="append", default=[], metavar="SOURCE", help="another source (e.g. 0: webcam)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: work_dirs/<config name>/infer)")
    p.add_argument("--save-json", action="store_true", help="also write predictions.json (COCO results for boxes)")
    p.add_argument(
        "--save-txt",
        action="store_true",
        help="also write <video>.txt per video or frame folder (tracks: MOT Challenge result rows)",
    )
    p.add_argument("--batch-size", type=int, default=1, help="images per forward pass (default: 1)")
    p.add_argument("--tta", action="store_true", help="the task's test-time augmentation (scales + flip)")
    p.add_argument("--opacity", type=float, default=0.5, help="segmentation overlay opacity (default: 0.5)")
    p.add_argument("--score-thr", type=float, default=0.3, help="detection boxes drawn from this score (default: 0.3)")
    p.add_argument(
        "--nms", type=float, metavar="IOU", help="class-agnostic NMS of the detections at this IoU (default: off)"
    )
    p.add_argument("--max-frames", type=int, help="stop each video or webcam after this many frames")
    p.add_argument(
        "--tracker", choices=tuple(TRACKERS), help="a tracking task's tracker (default: its evaluation.tracker)"
    )
    p.add_argument(
        "--calib",
        metavar="PATH",
        help="the camera of the inputs (3D tasks): a KITTI calib file, a folder of them named as the images (or as "
        "their folder: one per KITTI tracking sequence), or a 3x4 / 3x3 matrix in a text file",
    )
    p.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE", help="override config keys")
    add_engine_args(p)
    return p


class _Run:
    """One infer run: the predictor, the drawing options and what has been written."""

    def __init__(self, predictor: Predictor, args: argparse.Namespace, out: Path) -> None:
        self.predictor, self.args, self.out = predictor, args, out
        self.options = DrawOptions(opacity=args.opacity, score_thr=args.score_thr, nms=args.nms)
        self.suffix = predictor.task.info.infer_suffix
        self.json: list[dict[str, Any]] = []
        self.recorded = 0  # images (and frames) in the json so far: the next one's COCO image_id is this + 1
        self.unreadable: list[str] = []
        self.txt: dict[str, list[str]] = {}
        self.cameras: dict[Path, np.ndarray] = {}
        #: Whether the task follows objects through a video: a folder of frames is then one stream, in order.
        self.tracks = predictor.task.info.stream_state is not None

    def stream(self) -> Any:
        """A stream of the predictor with ``--tracker`` and ``--tta``."""
        return self.predictor.stream(tracker=self.args.tracker, tta=self.args.tta)

    def fields(self, sources: list[Source]) -> dict[str, list[Any]]:
        """The named fields of ``sources`` from the flags (``--calib``: each one's camera matrix)."""
        if not self.args.calib:
            return {}
        calib = Path(self.args.calib)
        if calib.is_dir():
            paths = [_calib_file(calib, Path(source.path)) for source in sources]
            missing = [calib / f"{Path(s.path).stem}.txt" for s, p in zip(sources, paths, strict=True) if p is None]
            if missing:
                raise DLADenseError(
                    f"--calib: no calib file {missing[0]} for its image; name each as its image (or as its folder, "
                    "one per KITTI tracking sequence)"
                )
        elif calib.is_file():
            paths = [calib] * len(sources)
        else:
            raise DLADenseError(f"--calib: '{calib}' is neither a file nor a folder")
        return {"calib": [self._camera(path) for path in paths]}

    def _camera(self, path: Path) -> np.ndarray:
        """The camera matrix of the calib file ``path``, read once per run (a video's batches share it)."""
        if path not in self.cameras:
            self.cameras[path] = read_kitti_calib(path)
        return self.cameras[path]

    def refine(self, results: list[Result]) -> list[Result]:
        return [result.refined(self.options) for result in results]

    def record(self, source: Source, result: Result, frame: int | None = None) -> None:
        if not self.args.save_json:
            return
        self.recorded += 1
        self.json.extend(result.records(self.recorded, source.path if frame is None else f"{source.path}#{frame}"))

    def text(self, name: str, result: Result, frame: int) -> None:
        if self.args.save_txt:
            self.txt.setdefault(name, []).extend(result.text_rows(frame))

    def image(self, source: Source, result: Result) -> str:
        path = self.out / f"{source.stem}_{self.suffix}.jpg"
        Image.fromarray(result.draw(self.options)).save(path, quality=90)
        for name, array in result.extra_files(source.stem).items():
            Image.fromarray(array).save(self.out / name)
        self.record(source, result)
        return f"{path} ({result.describe(self.options)})"

    def skip(self, error: DLADenseError) -> None:
        """Warn about an input that cannot be read and count it; the run goes on with the others."""
        tqdm.write(f"warning: skipped: {error}", file=sys.stderr)
        self.unreadable.append(str(error))

    def video(self, source: Source, bar: tqdm) -> str | None:
        """Predict every frame of a video or camera, in order through one stream, into an annotated ``.mp4``;
        None (and a warning) when the source cannot be opened or gives no frame."""
        try:
            capture = open_video(source)
        except DLADenseError as e:
            self.skip(e)
            return None
        writer = VideoWriter(self.out / f"{source.stem}_{self.suffix}.mp4", video_fps(capture))
        stream = self.stream()
        on_video = replace(self.options, legend=False)
        try:
            frames = video_frames(capture)
            index = 0
            for batch in _batches(frames, self.args.batch_size, self.args.max_frames):
                for result in self.refine(stream(batch, **self.fields([source] * len(batch)))):
                    writer.write(result.draw(on_video))
                    self.record(source, result, index)
                    index += 1
                    self.text(source.stem, result, index)
                bar.update(len(batch))
        finally:
            capture.release()
            path = writer.close()
        if path is None:
            self.skip(DLADenseError(f"'{source.path}' gave no frames; check that OpenCV can decode it"))
            return None
        return f"{path} ({writer.frames} frames at {writer.fps:g} fps)"


def _batches(frames: Iterator[Any], size: int, limit: int | None) -> Iterator[list[Any]]:
    """Lists of ``size`` consecutive items (the last may be shorter), at most ``limit`` items in all."""
    batch: list[Any] = []
    for i, frame in enumerate(frames):
        if limit is not None and i >= limit:
            break
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _readable(sources: list[Source], run_: _Run) -> Iterator[tuple[Source, np.ndarray]]:
    """``(source, RGB [H, W, 3] uint8)`` of each image that can be read; those that cannot are skipped."""
    for source in sources:
        try:
            yield source, as_rgb(source.path)
        except DLADenseError as e:
            run_.skip(e)


def _image_groups(images: list[Source], by_folder: bool) -> list[tuple[str, list[Source]]]:
    """The image sources as one group, or (tracking) one group per folder, each sorted by path: the frames of a
    folder are a video. The name of a group is its folder's (the sequence's for a MOT ``img1`` folder; ``images``
    when not grouped), made unique with ``_2``, ``_3``, ..."""
    if not by_folder:
        return [("images", images)] if images else []
    groups: dict[Path, list[Source]] = {}
    for source in images:
        groups.setdefault(Path(source.path).parent, []).append(source)
    named, taken = [], set()
    for folder, group in groups.items():
        base = (folder.parent.name if folder.name == "img1" else folder.name) or "images"
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        named.append((name, sorted(group, key=lambda s: s.path)))
    return named


def _frame_numbers(group: list[Source]) -> dict[str, int]:
    """The 1-based frame number of each frame of a folder: the number its file is named by when every name is a
    number (``000001.jpg``), else its place in the folder; frames that cannot be read keep their numbers."""
    stems = [Path(source.path).stem for source in group]
    if all(stem.isdigit() for stem in stems):
        return {source.path: int(stem) for source, stem in zip(group, stems, strict=True)}
    return {source.path: k for k, source in enumerate(group, 1)}


def _check_outputs(out: Path, names: list[str], args: argparse.Namespace) -> None:
    """Refuse, before any work, a text or json output whose path is a folder."""
    files = [(out / f"{name}.txt", "--save-txt") for name in names if args.save_txt]
    files += [(out / "predictions.json", "--save-json")] if args.save_json else []
    for path, flag in files:
        if path.is_dir():
            raise DLADenseError(
                f"{flag}: '{path}' is a folder, so it cannot be written; remove it or pass another --out"
            )


def _frames_stated(source: Source) -> int | None:
    """The frame count a video states (None for cameras or when unknown; 0 when it cannot be opened)."""
    try:
        return frame_count(source)
    except DLADenseError:
        return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    specs = list(args.sources) + list(args.source)
    if not specs:
        parser.error("give at least one source (image, folder, glob, video or webcam index)")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    sources = expand_sources(specs)
    out = output_dir(args.out) if args.out else None
    predictor = Predictor(
        args.config, args.checkpoint, device=args.device, cfg_options=args.cfg_options, **engine_options(args)
    )
    if not predictor.task.info.infer_output:
        raise no_inference(predictor.task)
    if args.tracker:
        predictor.stream(tracker=args.tracker)  # a task that does not track, or a tracker it cannot feed: one line
    if args.int8:
        count = predictor.calibrate_on_training_images(args.calib_images)
        print(f"int8: calibrating on {count} training image(s)", file=sys.stderr)
    out = out or output_dir(Path("work_dirs") / predictor.cfg.name / "infer")
    run_ = _Run(predictor, args, out)
    images = [s for s in sources if s.kind == "image"]
    streams = [s for s in sources if s.kind != "image"]
    groups = _image_groups(images, run_.tracks)
    _check_outputs(out, [name for name, _ in groups] + [s.stem for s in streams], args)
    counts = [_frames_stated(s) for s in streams]
    total = None if None in counts and streams else len(images) + sum(c or 0 for c in counts)
    if args.max_frames is not None and total is not None:
        total = len(images) + sum(min(c or 0, args.max_frames) for c in counts)
    with tqdm(total=total, unit="img", desc="infer", dynamic_ncols=True) as bar:
        for folder, group in groups:
            predict = run_.stream() if run_.tracks else partial(predictor, tta=args.tta)
            numbers = _frame_numbers(group)
            for batch in _batches(_readable(group, run_), args.batch_size, None):
                with about_input(", ".join(source.path for source, _ in batch)):
                    fields = run_.fields([source for source, _ in batch])
                    results = run_.refine(predict([rgb for _, rgb in batch], **fields))
                    for (source, _), result in zip(batch, results, strict=True):
                        run_.text(folder, result, numbers[source.path])
                        bar.write(f"{source.path}: {run_.image(source, result)}", file=sys.stdout)
                bar.update(len(batch))
        for source in streams:
            with about_input(source.path):
                written = run_.video(source, bar)
            if written is not None:
                bar.write(f"{source.path}: {written}", file=sys.stdout)
    for name, lines in run_.txt.items():
        (out / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
        print(f"{name}: {out / f'{name}.txt'} ({len(lines)} rows)")
    if args.save_json:
        path = out / "predictions.json"
        path.write_text(json.dumps(run_.json))
        print(f"predictions: {path}")
    print(predictor.timer.summary())
    if run_.unreadable:
        raise DLADenseError(
            f"{len(run_.unreadable)} of {len(sources)} input(s) could not be read and were skipped (the others "
            f"are in '{out}'); the first: {run_.unreadable[0]}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tools/infer.py``."""
    with torch.inference_mode():
        return run(_main, argv)


def _calib_file(folder: Path, image: Path) -> Path | None:
    """The calib file of ``image`` in ``folder``: ``<image stem>.txt``, else ``<its folder's name>.txt`` (a KITTI
    tracking sequence's); None when neither exists."""
    for name in (image.stem, image.parent.name):
        if (folder / f"{name}.txt").is_file():
            return folder / f"{name}.txt"
    return None

"""Videos with tracked objects, read directly from their published layouts: the MOT Challenge folders, CenterTrack's
video-COCO json and CrowdHuman's ``.odgt`` (each image a one-frame video).

Every reader gives :class:`Frame` records in video order; :class:`VideoDataset` serves them as frames to predict
(evaluation) or as frame pairs to train on (CenterTrack: a previous frame near the current one).
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from ..errors import DLADenseError
from ..images import load_image
from .coco import check_entries, chosen_categories, is_integer, is_number
from .mot_format import (
    CLASS,
    FLAG,
    FRAME,
    HEIGHT,
    LEFT,
    MOT_DISTRACTORS,
    TRACK_ID,
    VISIBILITY,
    WIDTH,
    GroundTruth,
)

logger = logging.getLogger(__name__)


@dataclass
class Frame:
    """One frame: its image, video and 1-based ``frame_id``, and its objects: ``boxes [M, 4]`` (x1y1x2y2, image
    pixels, may leave the image), 0-based ``labels [M]`` (-1 with ``ignore``: every class), ``ignore [M]``
    (ignore regions: ``hm`` 1 inside, still drawn in the previous heatmap), ``crowd [M]`` (ignored, not drawn) and
    ``track_ids [M]``; ``identities [M]`` when the dataset numbers its identities itself (FairMOT's JDE labels).
    ``object_fields`` are more per-object fields by name (``[M, ...]``: KITTI's 3D boxes), ``frame_fields`` the
    frame's own (a camera matrix ``calib [3, 4]``)."""

    path: Path
    video: str
    frame_id: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ignore: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    crowd: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    identities: np.ndarray | None = None
    object_fields: dict[str, np.ndarray] = field(default_factory=dict)
    frame_fields: dict[str, Any] = field(default_factory=dict)


def _objects(rows: list[tuple[list[float], int, bool, bool, int]]) -> dict[str, np.ndarray]:
    """``(xywh, label, ignore, crowd, track id)`` rows -> :class:`Frame` object arrays."""
    xywh, labels, ignore, crowd, track_ids = zip(*rows, strict=True) if rows else ((), (), (), (), ())
    boxes = np.array(xywh, np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return {
        "boxes": boxes,
        "labels": np.array(labels, np.int64),
        "ignore": np.array(ignore, bool),
        "crowd": np.array(crowd, bool),
        "track_ids": np.array(track_ids, np.int64),
    }


def read_seqinfo(folder: Path) -> dict[str, str]:
    """The ``[Sequence]`` section of ``folder/seqinfo.ini``."""
    path = folder / "seqinfo.ini"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text())
        return dict(parser["Sequence"])
    except (OSError, KeyError, configparser.Error) as e:
        raise DLADenseError(f"cannot read '{path}' ({e}); a MOT sequence needs a seqinfo.ini with [Sequence]") from None


def mot_split(split: str) -> tuple[str, str | None]:
    """``(folder, half)`` of a split name: ``train_half`` / ``val_half`` are the halves of ``train`` (CenterTrack's
    split), ``<folder>_half`` the first half of any folder, anything else a whole folder."""
    if split == "val_half":
        return "train", "val"
    if split.endswith("_half"):
        return split.removesuffix("_half"), "train"
    return split, None


def half_range(length: int, half: str | None) -> range:
    """0-based frame indices of CenterTrack's half split of ``length`` frames: train ``[0, N // 2]``, val
    ``[N // 2 + 1, N - 1]``; all frames for ``half=None``."""
    if half is None:
        return range(length)
    return range(0, length // 2 + 1) if half == "train" else range(length // 2 + 1, length)


def _number_rows(path: Path, *, sep: str | None, columns: tuple[int, int], layout: str) -> tuple[np.ndarray, list[int]]:
    """The rows of numbers of a text table ``[R, C]`` (float64) and the line number of each; blank lines skipped.
    Every row needs ``columns[0]..columns[1]`` finite numbers (shorter rows are padded with NaN to the longest)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DLADenseError(f"cannot read '{path}' ({e}); it should hold rows '{layout}'") from None
    rows, lines = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.strip().split(sep)]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            raise DLADenseError(f"'{path}' line {n}: {line.strip()!r} is not numbers; rows are '{layout}'") from None
        if not columns[0] <= len(values) <= columns[1] or not all(math.isfinite(v) for v in values):
            raise DLADenseError(
                f"'{path}' line {n}: {line.strip()!r} has {len(values)} value(s); rows are '{layout}' "
                f"({columns[0]} to {columns[1]} finite numbers)"
            )
        rows.append(values)
        lines.append(n)
    width = max((len(r) for r in rows), default=columns[1])
    table = np.full((len(rows), width), np.nan)
    for k, r in enumerate(rows):
        table[k, : len(r)] = r
    return table, lines


def _read_gt(path: Path, length: int) -> np.ndarray:
    """The ``[R, 9]`` rows of a MOT ``gt.txt`` (none without the file), checked: integer frames in ``1..length``
    (seqinfo.ini's ``seqLength``, as TrackEval's reader requires), integer ids. MOT15-style rows without flag,
    class and visibility get 1, 1, 1."""
    if not path.is_file():
        return np.zeros((0, 9))
    layout = "frame,id,x,y,w,h,flag,class,visibility"
    rows, lines = _number_rows(path, sep=",", columns=(6, 10), layout=layout)
    for r, n in zip(rows, lines, strict=True):
        if r[FRAME] != int(r[FRAME]) or not 1 <= r[FRAME] <= length:
            raise DLADenseError(
                f"'{path}' line {n}: frame {r[FRAME]:g} is not a frame of the sequence (1..{length}, seqLength in "
                "seqinfo.ini); fix the row or seqLength"
            )
        if r[TRACK_ID] != int(r[TRACK_ID]):
            raise DLADenseError(f"'{path}' line {n}: track id {r[TRACK_ID]:g} is not an integer")
        if r[WIDTH] < 0 or r[HEIGHT] < 0:
            raise DLADenseError(f"'{path}' line {n}: the box has a negative width or height; rows are '{layout}'")
    if rows.shape[1] < 9:  # MOT15-style: no flag/class/visibility
        rows = np.concatenate([rows[:, :6], np.ones((len(rows), 3))], 1)
    return np.nan_to_num(rows[:, :9], nan=1.0).reshape(-1, 9)


def _sequence_info(seq_dir: Path) -> tuple[int, Path, str]:
    """``(seqLength, image folder, image extension)`` of a MOT sequence, checked."""
    info = read_seqinfo(seq_dir)
    length = info.get("seqlength", "")
    if not length.strip().isdigit():
        raise DLADenseError(
            f"'{seq_dir / 'seqinfo.ini'}' has seqLength={length!r}; it must be the sequence's number of frames"
        )
    return int(length), seq_dir / info.get("imdir", "img1"), info.get("imext", ".jpg")


def read_mot(
    root: Path, split: str, *, mot_classes: Sequence[int] = (1,), sequences: str = "*", min_visibility: float = 0.25
) -> tuple[list[Frame], dict[str, GroundTruth]]:
    """The frames of the MOT Challenge ``split`` under ``root`` (see :func:`mot_split`) and each sequence's ground
    truth for scoring (the split's rows, frames renumbered from 1).

    Training objects as CenterTrack's conversion: rows with flag 1 and visibility >= ``min_visibility``; class
    ``mot_classes[k]`` is label k; the distractor classes (2, 7, 8, 12) become ignore regions of pedestrians
    (label of class 1) when pedestrians are a class; other classes are dropped."""
    folder, half = mot_split(split)
    base = root / folder
    if not base.is_dir():
        raise DLADenseError(f"MOT split folder '{base}' does not exist; check data.root and the split ('{split}')")
    frames: list[Frame] = []
    truth: dict[str, GroundTruth] = {}
    label_of = {int(c): k for k, c in enumerate(mot_classes)}
    pedestrian = label_of.get(1)
    for seq_dir in sorted(p for p in base.iterdir() if p.is_dir() and fnmatch.fnmatch(p.name, sequences)):
        length, img_dir, ext = _sequence_info(seq_dir)
        keep = half_range(length, half)
        offset = keep.start
        rows = _read_gt(seq_dir / "gt" / "gt.txt", length)
        frame = rows[:, FRAME]
        rows = rows[(frame > keep.start) & (frame <= keep.stop)] if len(keep) else rows[:0]
        rows = rows.copy()
        rows[:, FRAME] -= offset
        truth[seq_dir.name] = GroundTruth(rows, len(keep))
        by_frame: dict[int, list] = {}
        for r in rows:
            cls, flag, vis = int(r[CLASS]), int(r[FLAG]), float(r[VISIBILITY])
            if flag != 1 or vis < min_visibility:
                continue
            if cls in label_of:
                obj = (list(r[LEFT : HEIGHT + 1]), label_of[cls], False, False, int(r[TRACK_ID]))
            elif pedestrian is not None and cls in MOT_DISTRACTORS:
                obj = (list(r[LEFT : HEIGHT + 1]), pedestrian, True, False, int(r[TRACK_ID]))
            else:
                continue
            by_frame.setdefault(int(r[FRAME]), []).append(obj)
        for index in keep:
            frame_id = index - offset + 1
            path = img_dir / f"{index + 1:06d}{ext}"
            frames.append(Frame(path, seq_dir.name, frame_id, **_objects(by_frame.get(frame_id, []))))
    if not frames:
        raise DLADenseError(f"no MOT sequences matching '{sequences}' with frames under '{base}'")
    return frames, truth


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise DLADenseError(f"cannot read the {what} '{path}' ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise DLADenseError(f"'{path}' is not a UTF-8 text file; pass a {what}") from None
    except json.JSONDecodeError as e:
        raise DLADenseError(
            f"'{path}' is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}; fix or re-export the file"
        ) from None


def _video_frames(path: Path, data: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Image id -> ``(video, frame_id)`` of a video-COCO json with ``videos``, checked: every image names a listed
    video and a 1-based frame, no frame twice in a video."""
    videos = data["videos"]
    if not isinstance(videos, list) or not all(isinstance(v, dict) and is_integer(v.get("id")) for v in videos):
        raise DLADenseError(f"'{path}': 'videos' must be a list of objects with an integer 'id'")
    known = {v["id"] for v in videos}
    out: dict[int, tuple[str, int]] = {}
    seen: dict[tuple[int, int], int] = {}
    for index, image in enumerate(data["images"]):
        where = f"'{path}': images[{index}] (id {image['id']})"
        for key in ("video_id", "frame_id"):
            if key not in image:
                raise DLADenseError(
                    f"{where} has no '{key}'; with a 'videos' list every image needs 'video_id' and 'frame_id' "
                    "(1-based)"
                )
        video, frame = image["video_id"], image["frame_id"]
        if not is_integer(video) or video not in known:
            raise DLADenseError(f"{where} has video_id={video!r}, not an id of 'videos'")
        if not is_integer(frame) or frame < 1:
            raise DLADenseError(f"{where} has frame_id={frame!r}; frame ids are integers from 1")
        if (video, frame) in seen:
            raise DLADenseError(
                f"{where} and image id {seen[video, frame]} are both frame {frame} of video {video}; "
                "each frame of a video appears once"
            )
        seen[video, frame] = image["id"]
        out[image["id"]] = (str(video), frame)
    return out


def read_video_coco(
    ann_file: Path, img_dir: Path, classes: Sequence[str] | None = None
) -> tuple[list[Frame], tuple[str, ...]]:
    """The frames of a CenterTrack video-COCO json (``videos``; per image ``video_id``, ``frame_id``; per
    annotation ``track_id``). Without ``videos`` every image is a one-frame video and every annotation its own
    track, as CenterTrack's ``fake_video_data``. Category id 0 is an ignore region of every class, a negative id
    ``-c`` one of category ``c``; ``iscrowd`` boxes are crowds. An annotation without ``track_id`` is an object
    without identity (track id -1: no tracking target, no identity). ``classes``: train these categories only
    (the others' annotations are skipped, with a warning that counts them).

    A mistake in the file (a missing or mistyped field, an unknown image or category, a frame twice in a video)
    ends in one line naming the file, the entry and the fix."""
    path = Path(ann_file)
    data = _load_json(path, "video-COCO json")
    if not isinstance(data, dict) or any(key not in data for key in ("images", "annotations", "categories")):
        raise DLADenseError(
            f"'{path}' is not a video-COCO json: it needs an object with 'images', 'annotations' and 'categories' "
            "(and 'videos'; CenterTrack's convert scripts write it)"
        )
    check_entries(path, data)
    chosen = chosen_categories(data["categories"], classes or None, path)
    label_of, names = {c["id"]: k for k, c in enumerate(chosen)}, tuple(str(c["name"]) for c in chosen)
    categories = {c["id"] for c in data["categories"]}
    videos = "videos" in data
    frame_of = _video_frames(path, data) if videos else {img["id"]: (str(img["id"]), 1) for img in data["images"]}
    anns: dict[int, list] = {}
    skipped = 0
    for i, a in enumerate(data["annotations"]):
        where = f"'{path}': annotation {a['id']}"
        cat, bbox = a["category_id"], a["bbox"]
        if a["image_id"] not in frame_of:
            raise DLADenseError(f"{where} refers to image id {a['image_id']}, not in 'images'")
        if cat != 0 and abs(cat) not in categories:
            raise DLADenseError(
                f"{where} has category_id {cat}, not in 'categories' (0 marks an ignore region of every class, "
                "-c one of category c)"
            )
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(is_number(v) and math.isfinite(v) for v in bbox)):
            raise DLADenseError(f"{where} has bbox {bbox!r}; expected [x, y, width, height] of finite numbers")
        if bbox[2] < 0 or bbox[3] < 0:
            raise DLADenseError(f"{where} has bbox {bbox!r} with a negative size; width and height are >= 0")
        track = a.get("track_id", -1) if videos else i + 1
        if not is_integer(track):
            raise DLADenseError(f"{where} has track_id={track!r}; track ids are integers")
        if cat == 0:
            label, ignore = -1, True
        elif abs(cat) in label_of:
            label, ignore = label_of[abs(cat)], cat < 0 or bool(a.get("iscrowd", 0))
        else:
            skipped += 1
            continue
        anns.setdefault(a["image_id"], []).append((list(bbox), label, ignore, bool(a.get("iscrowd", 0)), track))
    if skipped:
        logger.warning(
            "'%s': %d annotation(s) of categories not in data.classes skipped (trained: %s)",
            path,
            skipped,
            ", ".join(names),
        )
    frames = []
    for image in data["images"]:
        video, frame_id = frame_of[image["id"]]
        frames.append(Frame(Path(img_dir) / image["file_name"], video, frame_id, **_objects(anns.get(image["id"], []))))
    frames.sort(key=lambda f: (f.video, f.frame_id))
    return frames, names


def _crowdhuman_box(box: Any, where: str) -> tuple[list[float], bool]:
    """``(fbox, crowd)`` of one ``gtboxes`` entry, checked."""
    if not isinstance(box, dict) or "fbox" not in box:
        raise DLADenseError(f"{where} has no 'fbox'; every gtboxes entry needs its full-body box [x, y, w, h]")
    fbox, extra = box["fbox"], box.get("extra", {})
    if not (isinstance(fbox, list) and len(fbox) == 4 and all(is_number(v) and math.isfinite(v) for v in fbox)):
        raise DLADenseError(f"{where} has fbox {fbox!r}; expected [x, y, width, height] of finite numbers")
    if fbox[2] < 0 or fbox[3] < 0:
        raise DLADenseError(f"{where} has fbox {fbox!r} with a negative size; width and height are >= 0")
    if not isinstance(extra, dict):
        raise DLADenseError(f'{where} has extra={extra!r}; it must be an object (e.g. {{"ignore": 1}})')
    return list(fbox), extra.get("ignore", 0) == 1


def read_crowdhuman(odgt_file: Path, img_dir: Path) -> list[Frame]:
    """CrowdHuman ``.odgt`` (one JSON object per line: ``ID`` and ``gtboxes`` with ``fbox``, ``extra.ignore``):
    one-frame videos of the full-body boxes, ``extra.ignore == 1`` as crowds (CenterTrack's conversion). A
    mistake ends in one line naming the file, the line and the field."""
    frames = []
    try:
        lines = Path(odgt_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DLADenseError(f"cannot read the CrowdHuman annotations '{odgt_file}' ({e})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"'{odgt_file}' line {n}"
        try:
            record = json.loads(line)
        except ValueError:
            raise DLADenseError(f"{where} is not JSON; a .odgt file has one JSON object per line") from None
        if not isinstance(record, dict) or not isinstance(record.get("ID"), str) or not record["ID"]:
            raise DLADenseError(f"{where} has no image 'ID' (a non-empty string naming <ID>.jpg)")
        boxes = record.get("gtboxes", [])
        if not isinstance(boxes, list):
            raise DLADenseError(f"{where}: 'gtboxes' must be a list of boxes")
        rows = []
        for k, box in enumerate(boxes):
            fbox, crowd = _crowdhuman_box(box, f"{where} gtboxes[{k}]")
            rows.append((fbox, 0, crowd, crowd, k + 1))
        frames.append(Frame(Path(img_dir) / f"{record['ID']}.jpg", record["ID"], 1, **_objects(rows)))
    return frames


def identities_of(frames: Sequence[Frame]) -> tuple[list[np.ndarray], int]:
    """Each frame's object identities ``[M]`` for re-identification training, and the classifier's size: every
    (video, track id) of a real object (not ignored, not a crowd, id >= 0) gets one index, numbered in order of
    first appearance over the frames; -1 for the rest. Frames with their own ``identities`` (JDE labels) keep them,
    and the size is FairMOT's ``nID``: the largest identity + 2."""
    if frames and all(f.identities is not None for f in frames):
        largest = max((int(f.identities.max()) for f in frames if len(f.identities)), default=-1)
        return [f.identities for f in frames], largest + 2
    index: dict[tuple[str, int], int] = {}
    out = []
    for f in frames:
        ids = np.full(len(f.track_ids), -1, np.int64)
        for k, (track, ignored, crowd) in enumerate(zip(f.track_ids, f.ignore, f.crowd, strict=True)):
            if track >= 0 and not ignored and not crowd:
                ids[k] = index.setdefault((f.video, int(track)), len(index))
        out.append(ids)
    return out, len(index)


#: Columns of a JDE label row: class, identity, then the box ``cx cy w h`` normalised by the image size.
JDE_CLASS, JDE_IDENTITY, JDE_BOX = 0, 1, slice(2, 6)


def read_jde(root: Path, lists: Mapping[str, str]) -> list[Frame]:
    """The frames of FairMOT's JDE datasets: ``lists`` maps each dataset's name to a file listing its images
    (paths relative to ``root``), in order; each image's labels are at its path with ``images`` ->
    ``labels_with_ids`` and the extension -> ``.txt``, one object per row: ``class identity cx cy w h`` (0-based
    class, identity -1 for none, box normalised by the image size).

    Identities are shifted by each dataset's start, FairMOT's ``tid_start_index``: the running sum of ``max identity
    + 1`` over the earlier datasets. A frame's video is its image folder (the sequence folder above ``img1``), its
    ``frame_id`` the image's number (its position in the folder when the name is not a number)."""
    frames: list[Frame] = []
    start = 0
    for name, list_file in lists.items():
        try:
            images = [line.strip() for line in (root / list_file).read_text().splitlines() if line.strip()]
        except OSError as e:
            raise DLADenseError(
                f"cannot read the image list '{root / list_file}' of JDE dataset '{name}' ({e})"
            ) from None
        largest = -1
        first = len(frames)
        for rel in images:
            path = root / rel
            rows = _read_jde_labels(path)
            width, height = _image_size(path)
            boxes = rows[:, JDE_BOX] * np.array([width, height, width, height], np.float32)
            boxes[:, :2] -= boxes[:, 2:] / 2
            ids = rows[:, JDE_IDENTITY].astype(np.int64)
            classes = rows[:, JDE_CLASS].astype(np.int64)
            largest = max(largest, int(ids.max(initial=-1)))
            folder = path.parent.parent if path.parent.name == "img1" else path.parent
            objects = _objects(
                [(list(b), int(c), False, False, int(t)) for b, c, t in zip(boxes, classes, ids, strict=True)]
            )
            frames.append(Frame(path, str(folder.relative_to(root)), 0, **objects, identities=ids))
        for f in frames[first:]:
            f.identities = np.where(f.identities > -1, f.identities + start, -1)
        start += largest + 1
    by_video: dict[str, list[Frame]] = {}
    for f in frames:
        by_video.setdefault(f.video, []).append(f)
    for video_frames in by_video.values():
        numbered = all(f.path.stem.isdigit() for f in video_frames)
        for k, f in enumerate(video_frames):
            f.frame_id = int(f.path.stem) if numbered else k + 1
    return sorted(frames, key=lambda f: (f.video, f.frame_id))


def _read_jde_labels(image: Path) -> np.ndarray:
    """The ``[M, 6]`` label rows of ``image`` (none when its label file is missing or empty), checked: classes are
    integers from 0, identities integers from -1, boxes finite with a positive size."""
    path = Path(str(image).replace("images", "labels_with_ids")).with_suffix(".txt")
    if not path.is_file():
        return np.zeros((0, 6), np.float32)
    layout = "class identity cx cy w h"
    rows, lines = _number_rows(path, sep=None, columns=(6, 6), layout=layout)
    for r, n in zip(rows, lines, strict=True):
        if r[JDE_CLASS] != int(r[JDE_CLASS]) or r[JDE_CLASS] < 0:
            raise DLADenseError(f"'{path}' line {n}: class {r[JDE_CLASS]:g}; classes are integers from 0")
        if r[JDE_IDENTITY] != int(r[JDE_IDENTITY]) or r[JDE_IDENTITY] < -1:
            raise DLADenseError(
                f"'{path}' line {n}: identity {r[JDE_IDENTITY]:g}; identities are integers from 0 (-1: none)"
            )
        if (r[JDE_BOX][2:] <= 0).any():
            raise DLADenseError(f"'{path}' line {n}: the box has width or height <= 0; rows are '{layout}'")
    return rows.astype(np.float32).reshape(-1, 6)


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.width, im.height
    except OSError as e:
        raise DLADenseError(f"cannot read image '{path}' ({e})") from None


class VideoDataset(Dataset):
    """Frames of videos. Without ``transform`` an item is one frame to predict: ``{"image": RGB uint8 [H, W, 3],
    "video", "frame_id", "image_id", "first", **frame_fields}`` (``first``: the video's first frame).

    With ``transform`` (training) an item is a frame pair: the frame and a previous one chosen by
    ``transform.previous(candidates)`` among the frames of the same video less than ``max_frame_dist`` apart
    (itself and later frames included, as CenterTrack), given to ``transform`` as ``{"image", <objects>, "pre":
    {"image", <objects>}, "frame_dist"}``; with ``pairs=False`` the frame alone with its real objects (no ignore
    regions or crowds, as FairMOT trains): ``{"image", "boxes", "labels", "track_ids", "identities",
    "image_id"}``. The objects include their ``identities`` (:func:`identities_of`; :attr:`num_identities` in all)
    and each frame's ``object_fields``; its ``frame_fields`` come with it."""

    def __init__(
        self,
        frames: Sequence[Frame],
        classes: Sequence[str],
        *,
        ground_truth: dict[str, GroundTruth] | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        max_frame_dist: int = 3,
        pairs: bool = True,
    ) -> None:
        self.frames = list(frames)
        self.pairs = pairs
        self.classes = tuple(classes)
        self.ground_truth = ground_truth
        self.transform = transform
        self.max_frame_dist = max_frame_dist
        self.videos: dict[str, list[int]] = {}
        for i, frame in enumerate(self.frames):
            self.videos.setdefault(frame.video, []).append(i)
        self.identities, self.num_identities = identities_of(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def video_indices(self) -> list[list[int]]:
        """The frame indices of each video, in order (evaluation keeps a video on one process)."""
        return list(self.videos.values())

    def _fields(self, index: int) -> dict[str, Any]:
        f = self.frames[index]
        fields = {"boxes": f.boxes, "labels": f.labels, "ignore": f.ignore, "crowd": f.crowd, "track_ids": f.track_ids}
        image = np.asarray(load_image(f.path))
        return {"image": image, **fields, "identities": self.identities[index], **f.object_fields, **f.frame_fields}

    def __getitem__(self, index: int) -> dict[str, Any]:
        frame = self.frames[index]
        if self.transform is None:
            first = self.videos[frame.video][0] == index
            return {
                "image": np.asarray(load_image(frame.path)),
                "video": frame.video,
                "frame_id": frame.frame_id,
                "image_id": index,
                "first": first,
                **frame.frame_fields,
            }
        if not self.pairs:
            item = self._fields(index)
            real = ~(item["ignore"] | item["crowd"])
            objects = {k: item[k][real] for k in ("boxes", "labels", "track_ids", "identities", *frame.object_fields)}
            return self.transform({"image": item["image"], **objects, **frame.frame_fields, "image_id": index})
        candidates = [
            i for i in self.videos[frame.video] if abs(self.frames[i].frame_id - frame.frame_id) < self.max_frame_dist
        ]
        previous = candidates[self.transform.previous(len(candidates))]
        item = self._fields(index)
        item["pre"] = self._fields(previous)
        item["frame_dist"] = abs(frame.frame_id - self.frames[previous].frame_id)
        item["image_id"] = index
        return self.transform(item)

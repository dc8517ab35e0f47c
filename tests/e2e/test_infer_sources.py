"""tools/infer.py on what users point it at: nested folders with upper-case extensions, globs, a video (an
annotated video with the same frame count and rate comes back), JSON output, batches and the timing line."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


def _write_video(path, frames, fps):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


@pytest.fixture(scope="module")
def det(trained_tiny, tmp_path_factory):
    config, work = trained_tiny("det")
    images = sorted((config.parent / "data" / "images" / "val").glob("*.png"))
    base = tmp_path_factory.mktemp("sources")
    folder = base / "photos"
    (folder / "a" / "b").mkdir(parents=True)
    Image.open(images[0]).save(folder / "one.PNG")
    Image.open(images[1]).convert("RGB").save(folder / "a" / "two.JPG")
    Image.open(images[2]).convert("RGB").save(folder / "a" / "b" / "one.jpeg")  # the same stem as the first
    (folder / "notes.txt").write_text("not an image")
    return config, work, images, base, folder


def test_folder_and_video_give_pictures_a_video_and_json(det, tool):
    config, work, images, base, folder = det
    frames = [np.array(Image.open(images[i % len(images)]).convert("RGB")) for i in range(30)]
    video = base / "clip.mp4"
    _write_video(video, frames, 12)
    out = base / "out"
    args = [str(folder), str(video), "--out", str(out), "--save-json", "--batch-size", "2", "--score-thr", "0"]
    result = tool("infer", str(config), str(work / "best.pth"), *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.glob("*_boxes.jpg")) == ["one-2_boxes.jpg", "one_boxes.jpg", "two_boxes.jpg"]
    capture = cv2.VideoCapture(str(out / "clip_boxes.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 30 and capture.get(cv2.CAP_PROP_FPS) == pytest.approx(12)
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 30
    entries = json.loads((out / "predictions.json").read_text())
    assert {"image_id", "category_id", "bbox", "score", "file_name"} <= entries[0].keys()
    assert {e["file_name"] for e in entries} >= {str(folder / "one.PNG"), f"{video}#29"}
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("speed: ") and "ms inference" in last and "(33 images)" in last
    assert "infer: 100%" in result.stderr  # the progress bar


def test_globs_and_the_source_flag(det, tool):
    config, work, _, base, folder = det
    out = base / "glob"
    result = tool("infer", str(config), str(work / "best.pth"), "--source", f"{folder}/**/*.JPG", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in out.glob("*.jpg")] == ["two_boxes.jpg"]


@pytest.mark.parametrize(
    "source, message",
    [("missing_dir/", "source not found: 'missing_dir/'"), ("*.nothing", "no file matches '\\*.nothing'")],
)
def test_bad_sources_are_one_line_errors(det, tool, source, message):
    config, work, _, _, _ = det
    result = tool("infer", str(config), str(work / "best.pth"), source)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and message.replace("\\", "") in result.stderr


def test_segmentation_overlay_has_a_legend_and_label_ids(trained_tiny, tool, tmp_path):
    config, work = trained_tiny("seg")
    image = sorted((config.parent / "data" / "leftImg8bit" / "val").rglob("*.png"))[0]
    out = tmp_path / "seg"
    result = tool("infer", str(config), str(work / "best.pth"), str(image), "--out", str(out), "--save-json")
    assert result.returncode == 0, result.stderr[-3000:]
    overlay = Image.open(next(out.glob("*_overlay.jpg")))
    source = Image.open(image)
    assert overlay.height == source.height and overlay.width > source.width
    label_ids = np.asarray(Image.open(next(out.glob("*_labelIds.png"))))
    assert label_ids.shape == (source.height, source.width)
    shares = json.loads((out / "predictions.json").read_text())[0]["classes"]
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)

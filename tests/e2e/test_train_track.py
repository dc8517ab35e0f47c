"""End to end: CenterTrack on tiny synthetic videos: train, test (TrackEval numbers equal to TrackEval's own run on
the written result files, beside the IoU baseline), infer on a generated clip into a video and MOT txt, export
with three named inputs."""

import cv2
import numpy as np
import pytest
from support import run_tool, write_tiny_config

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("track")
    config = write_tiny_config(base / "tiny_track.py", "track", base / "mot")
    work = base / "run"
    result = run_tool("train", str(config), "--work-dir", str(work))
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work


def test_test_prints_hota_mota_idf1_beside_the_baseline_and_writes_mot_files(trained):
    base, config, work = trained
    out = base / "results"
    result = run_tool("test", str(config), str(work / "best.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("HOTA ") and "IDSW" in last and "IoU baseline: HOTA" in last
    assert "pedestrian" in result.stderr and "car" in result.stderr  # the per-class table
    files = sorted(out.glob("*.txt"))
    assert [f.stem for f in files] == sorted(p.name for p in (base / "mot" / "val").iterdir())
    for f in files:
        for line in f.read_text().splitlines():
            assert len(line.split(",")) == 10


def test_infer_on_a_clip_writes_a_video_and_mot_txt(trained, tmp_path):
    _, config, work = trained
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (96, 64))
    for i in range(40):
        frame = np.full((64, 96, 3), 120, np.uint8)
        cv2.rectangle(frame, (5 + i, 20), (15 + i, 44), (60, 60, 200), -1)
        writer.write(frame)
    writer.release()
    out = tmp_path / "out"
    result = run_tool("infer", str(config), str(work / "best.pth"), str(clip), "--out", str(out), "--save-txt")
    assert result.returncode == 0, result.stderr[-3000:]
    video = cv2.VideoCapture(str(out / "clip_tracks.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 40 and video.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    lines = (out / "clip.txt").read_text().splitlines()
    assert all(len(line.split(",")) == 10 and 1 <= int(line.split(",")[0]) <= 40 for line in lines)


def test_export_has_three_named_inputs_and_matches_pytorch(trained, tmp_path):
    pytest.importorskip("onnxruntime", minversion="1.25")
    import onnxruntime as ort

    _, config, work = trained
    out = tmp_path / "track.onnx"
    result = run_tool("export", str(config), str(work / "best.pth"), "--out", str(out), "--input-size", "64", "96")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "max abs diff" in result.stdout + result.stderr
    names = [i.name for i in ort.InferenceSession(str(out)).get_inputs()]
    assert names == ["image", "pre_image", "pre_hm"]

"""End to end: CenterTrack on tiny synthetic videos (trained once per session by ``trained_tiny``): test (TrackEval
numbers beside the IoU baseline, MOT result files), infer on a generated clip into a video and MOT txt, export with
three named inputs. The tools' mains run in this process."""

import cv2
import numpy as np
import pytest

from dla_dense.cli import export, infer, test

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


def test_test_prints_hota_mota_idf1_beside_the_baseline_and_writes_mot_files(trained_tiny, tmp_path, capsys):
    config, work = trained_tiny("track")
    out = tmp_path / "results"
    assert test.main([str(config), str(work / "best.pth"), "--out", str(out), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("HOTA ") and "IDSW" in last and "IoU baseline: HOTA" in last
    assert "pedestrian" in err and "car" in err  # the per-class table
    files = sorted(out.glob("*.txt"))
    assert [f.stem for f in files] == sorted(p.name for p in (config.parent / "data" / "val").iterdir())
    for f in files:
        for line in f.read_text().splitlines():
            assert len(line.split(",")) == 10


def test_infer_on_a_clip_writes_a_video_and_mot_txt(trained_tiny, tmp_path):
    config, work = trained_tiny("track")
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (96, 64))
    for i in range(40):
        frame = np.full((64, 96, 3), 120, np.uint8)
        cv2.rectangle(frame, (5 + i, 20), (15 + i, 44), (60, 60, 200), -1)
        writer.write(frame)
    writer.release()
    out = tmp_path / "out"
    assert infer.main([str(config), str(work / "best.pth"), str(clip), "--out", str(out), "--save-txt"]) == 0
    video = cv2.VideoCapture(str(out / "clip_tracks.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 40 and video.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    lines = (out / "clip.txt").read_text().splitlines()
    assert all(len(line.split(",")) == 10 and 1 <= int(line.split(",")[0]) <= 40 for line in lines)


def test_export_has_three_named_inputs_and_matches_pytorch(trained_tiny, tmp_path, capsys):
    pytest.importorskip("onnxruntime", minversion="1.25")
    import onnxruntime as ort

    config, work = trained_tiny("track")
    out = tmp_path / "track.onnx"
    assert export.main([str(config), str(work / "best.pth"), "--out", str(out), "--input-size", "64", "96"]) == 0
    assert "max abs diff" in "".join(capsys.readouterr())
    names = [i.name for i in ort.InferenceSession(str(out)).get_inputs()]
    assert names == ["image", "pre_image", "pre_hm"]

"""End to end: FairMOT (detection + embeddings in one network) on tiny two-class synthetic videos, trained once per
session (``trained_tiny``): the test tool prints per-class and combined HOTA/MOTA/IDF1 with the JDE tracker and
writes MOT files whose tracks never change class; the other trackers run on the same model."""

from collections import defaultdict

import numpy as np
import pytest
import torch

from dla_dense.cli import test

#: end-to-end runs of the tools: the slow tier.
pytestmark = pytest.mark.slow


def test_two_classes_tracked_by_one_model_with_per_class_metrics(trained_tiny, tmp_path, capsys):
    """The tiny model's heatmaps are raised so that both classes give detections in every frame."""
    config, work = trained_tiny("fairmot")
    state = torch.load(work / "best.pth", weights_only=True)
    state["model"]["hm.2.bias"] = torch.full_like(state["model"]["hm.2.bias"], 4.0)
    checkpoint = tmp_path / "loud.pth"
    torch.save(state, checkpoint)
    out = tmp_path / "results"
    assert test.main([str(config), str(checkpoint), "--out", str(out), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "tracker 'jde'" in err
    table = err[err.index("tracker 'jde'") :]
    for name in ("pedestrian", "car", "all classes"):
        assert name in table, table
    last = err.strip().splitlines()[-1]
    assert last.startswith("HOTA ") and "MOTA" in last and "IDF1" in last and "IDSW" in last
    classes_of = defaultdict(set)
    for path in out.glob("*.txt"):
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
        for row in rows:
            classes_of[(path.stem, int(row[1]))].add(int(row[7]))
    assert {3} in classes_of.values() and {1} in classes_of.values()
    assert all(len(c) == 1 for c in classes_of.values())  # no track changes class


@pytest.mark.parametrize("tracker", ["byte_reid", "byte"])
def test_other_trackers_on_the_same_model(trained_tiny, tracker, capsys):
    config, work = trained_tiny("fairmot")
    assert test.main([str(config), str(work / "best.pth"), "--device", "cpu", "--tracker", tracker]) == 0
    assert f"tracker '{tracker}'" in capsys.readouterr().err


def test_a_tracker_that_needs_offsets_is_refused_in_one_line(trained_tiny, capsys):
    config, work = trained_tiny("fairmot")
    code = test.main([str(config), str(work / "best.pth"), "--device", "cpu", "--tracker", "centertrack"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "tracking offsets" in err.splitlines()[-1]


def test_infer_writes_mot_txt_with_the_class_and_json_with_the_label(trained_tiny, tmp_path):
    from dla_dense.cli import infer

    config, work = trained_tiny("fairmot")
    state = torch.load(work / "best.pth", weights_only=True)
    state["model"]["hm.2.bias"] = torch.full_like(state["model"]["hm.2.bias"], 4.0)
    checkpoint = tmp_path / "loud.pth"
    torch.save(state, checkpoint)
    frames = sorted((config.parent / "data" / "val").glob("*/img1/*.jpg"))[:4]
    out = tmp_path / "out"
    argv = [str(config), str(checkpoint), *map(str, frames), "--out", str(out), "--save-txt", "--save-json"]
    assert infer.main(argv) == 0
    rows = [line.split(",") for txt in out.glob("*.txt") for line in txt.read_text().splitlines()]
    assert rows and {row[7] for row in rows} <= {"1", "3"}

"""End to end: the 3D tools on a tiny synthetic KITTI-layout set: training logs every ddd term and the KITTI
table, the test tool writes KITTI result files that the metrics read back to the printed AP, infer draws 3D boxes."""

from pathlib import Path

import pytest
from support import run_main, write_tiny_config

from dla_dense.data.kitti import KittiDataset
from dla_dense.data.kitti_format import read_kitti_objects
from dla_dense.evaluation.kitti import kitti_metrics

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("ddd")
    config = write_tiny_config(base / "tiny_ddd.py", "ddd", base / "kitti")
    work = base / "run"
    result = run_main("train_ddd", str(config), "--work-dir", str(work), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work, result


def test_training_logs_the_ddd_terms_and_the_kitti_table(trained):
    _, _, work, result = trained
    for term in ("hm_loss", "wh_loss", "off_loss", "rot_loss", "dim_loss", "dep_loss"):
        assert term in result.stderr, term
    assert "moderate" in result.stderr and (work / "best.pth").is_file()


def test_result_files_score_as_printed(trained):
    base, config, work, _ = trained
    out = base / "results"
    result = run_main("test_ddd", str(config), str(work / "best.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    data = KittiDataset(base / "kitti", "val", image_sets="ImageSets")
    files = sorted(out.glob("*.txt"))
    assert [f.stem for f in files] == data.names
    truth = [data.ground_truth(i) for i in range(len(data))]
    found = [read_kitti_objects(f, scores=True) for f in files]
    metrics = kitti_metrics(truth, found)
    line = next(line for line in result.stdout.splitlines() + result.stderr.splitlines() if "Car moderate R40" in line)
    printed = float(line.split("AP2D ")[1].split()[0])
    assert metrics["Car/2d/moderate/R40"] == pytest.approx(printed, abs=5e-5)


def test_infer_draws_3d_boxes_with_a_birds_eye_view(trained, tmp_path):
    base, config, work, _ = trained
    image = sorted((base / "kitti" / "training" / "image_2").glob("*.png"))[0]
    out = tmp_path / "infer"
    result = run_main("infer", str(config), str(work / "best.pth"), str(image), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = out / f"{Path(image).stem}_boxes3d.jpg"
    assert drawn.is_file() and "3D boxes" in result.stdout
    calib = base / "kitti" / "training" / "calib"
    for given in (calib, calib / f"{Path(image).stem}.txt"):  # a folder matched by name, or one file
        again = run_main(
            "infer",
            str(config),
            str(work / "best.pth"),
            str(image),
            "--out",
            str(out),
            "--calib",
            str(given),
            "--save-json",
        )
        assert again.returncode == 0, again.stderr[-3000:]
    missing = run_main(
        "infer", str(config), str(work / "best.pth"), str(image), "--out", str(out), "--calib", str(tmp_path)
    )
    assert missing.returncode == 2 and "--calib: no calib file" in missing.stderr.strip().splitlines()[-1]

"""End to end: the 3D tools on a tiny synthetic KITTI-layout set: training logs every ddd term and the KITTI
table, the test tool writes KITTI result files that the metrics read back to the printed AP, infer draws 3D boxes,
the int8 predictor keeps the 3D maps."""

from pathlib import Path

import numpy as np
import pytest
from support import run_main, write_tiny_config

from dla_dense.data.kitti import KittiDataset
from dla_dense.data.kitti_format import read_kitti_calib, read_kitti_objects
from dla_dense.evaluation.kitti import kitti_metrics
from dla_dense.images import load_image

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
    done = next(line for line in result.stderr.splitlines() if "done: " in line)  # the summary, not 144 numbers
    assert "done: Car moderate R40: AP3D " in done and "Pedestrian/" not in done


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


def test_the_int8_predictor_runs_once_calibrated_and_keeps_the_3d_maps(trained):
    """The int8 model runs only once calibrated (on training images, of the input's shape) and keeps the raw maps
    close (a 4-iteration model has near ties, so the maps are compared rather than the boxes). The engines give
    PyTorch's outputs behind the Predictor in tests/test_export.py; the camera stays in Python either way."""
    pytest.importorskip("nncf")
    import torch

    from dla_dense import DLADenseError, Predictor

    base, _, work, _ = trained
    image = sorted((base / "kitti" / "training" / "image_2").glob("*.png"))[0]
    calib = read_kitti_calib(base / "kitti" / "training" / "calib" / f"{image.stem}.txt")
    fp32 = Predictor.from_work_dir(work, device="cpu")
    int8 = Predictor.from_work_dir(work, device="cpu", int8=True)
    assert int8.backend == "openvino" and int8.model.int8
    with pytest.raises(DLADenseError, match="no calibration images of input shape 1x3x64x192"):
        int8(image, calib=calib)
    with pytest.raises(DLADenseError, match="calibrate is for int8 predictors"):
        fp32.calibrate([image])
    assert int8.calibrate_on_training_images(4) == 4
    val = sorted((base / "kitti" / "training" / "image_2").glob("*.png"))[-1]  # a validation image
    x = fp32.task.eval_transform()({"image": np.asarray(load_image(val))})["image"][None]
    with torch.no_grad():
        reference, quantized = fp32.model(x), int8.model(x)
    for name in ("hm", "dep", "rot", "dim"):
        a, b = reference[name].detach().flatten().numpy(), quantized[name].flatten().numpy()
        assert np.corrcoef(a, b)[0, 1] > 0.9, name

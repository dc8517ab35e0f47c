"""End to end: CenterNet multi_pose on tiny synthetic people (COCO's person schema) and on a 4-corner plate
schema with two categories: train, test with the keypoint json through loadRes, infer, export."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from support import run_main, write_tiny_config

from dla_dense.data.keypoints import COCO_PERSON_SIGMAS

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow

CORNERS = ["top_left", "top_right", "bottom_right", "bottom_left"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("pose")
    config = write_tiny_config(base / "tiny_pose.py", "pose", base / "people")
    work = base / "run"
    result = run_main("train", str(config), "--work-dir", str(work))
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work, result


def test_training_logs_centernets_terms_and_keypoint_ap(trained):
    _, _, work, result = trained
    records = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines()]
    for record in (r for r in records if r["mode"] == "train"):
        assert {"hm_loss", "wh_loss", "off_loss", "hp_loss", "hm_hp_loss", "hp_offset_loss"} <= record.keys()
    val = [r for r in records if r["mode"] == "val"][-1]
    assert {"kp_AP", "kp_std_AP", "AP", "AP50"} <= val.keys()
    assert "sigmas x4 (declared tolerance)" in result.stderr and "sigmas x1 (standard)" in result.stderr


def test_keypoint_json_gives_the_printed_ap_through_loadres(trained):
    base, config, work, _ = trained
    out = base / "results.json"
    result = run_main("test", str(config), str(work / "best.pth"), "--flip", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    printed = float(last.split("kp_AP ")[1].split()[0])
    standard = float(last.split("kp_AP ")[2].split()[0])
    gt = COCO(str(base / "people" / "annotations" / "person_keypoints_val.json"))
    results = json.loads(out.read_text())
    assert results and {"image_id", "category_id", "bbox", "score", "keypoints"} <= results[0].keys()
    assert len(results[0]["keypoints"]) == 17 * 3
    for scale, expected in ((4.0, printed), (1.0, standard)):
        evaluator = COCOeval(gt, gt.loadRes(str(out)), "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(COCO_PERSON_SIGMAS) * scale
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        assert evaluator.stats[0] == pytest.approx(expected, abs=5e-5)


def test_infer_draws_skeletons(trained):
    base, config, work, _ = trained
    images = sorted((base / "people" / "images" / "val").glob("*.png"))[:2]
    out = base / "drawn"
    result = run_main(
        "infer", str(config), str(work / "best.pth"), *map(str, images), "--out", str(out), "--score-thr", "0"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(out.glob("*_pose.jpg"))) == 2 and "detections with score" in result.stdout


def _plates(root: Path) -> None:
    """Quadrilateral 'plates' of two categories sharing a 4-corner schema, as COCO keypoint jsons."""
    rng = np.random.default_rng(0)
    categories = [
        {"id": i + 1, "name": name, "keypoints": CORNERS, "skeleton": [[1, 2], [2, 3], [3, 4], [4, 1]]}
        for i, name in enumerate(("red_plate", "blue_plate"))
    ]
    (root / "annotations").mkdir(parents=True)
    for split, count in (("train", 8), ("val", 4)):
        (root / "images" / split).mkdir(parents=True)
        images, annotations = [], []
        for i in range(count):
            canvas = Image.fromarray(rng.integers(60, 200, (96, 96, 3), dtype=np.uint8))
            draw = ImageDraw.Draw(canvas)
            for _ in range(2):
                cat = int(rng.integers(0, 2))
                x, y = rng.uniform(5, 50, 2)
                w, h = rng.uniform(20, 40, 2)
                corners = np.array([[x, y], [x + w, y + 3], [x + w - 2, y + h], [x + 1, y + h - 2]])
                draw.polygon([tuple(c) for c in corners], fill=(220, 30, 30) if cat == 0 else (30, 30, 220))
                keypoints = np.concatenate([corners, np.full((4, 1), 2.0)], 1).reshape(-1).tolist()
                box = [float(corners[:, 0].min()), float(corners[:, 1].min())]
                box += [float(corners[:, 0].max()) - box[0], float(corners[:, 1].max()) - box[1]]
                annotations.append(
                    {"id": len(annotations) + 1, "image_id": i + 1, "category_id": cat + 1, "bbox": box, "iscrowd": 0,
                     "area": box[2] * box[3], "keypoints": keypoints, "num_keypoints": 4}
                )  # fmt: skip
            canvas.save(root / "images" / split / f"{i}.png")
            images.append({"id": i + 1, "file_name": f"{i}.png", "height": 96, "width": 96})
        coco = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"person_keypoints_{split}.json").write_text(json.dumps(coco))


def _plates_config(tmp_path: Path, **evaluation) -> Path:
    _plates(tmp_path / "plates")
    return write_tiny_config(
        tmp_path / "plates.py",
        "pose",
        tmp_path / "plates",
        model=dict(num_classes=2, num_joints=4),
        data=dict(synthetic=...),
        evaluation=evaluation,
    )


def test_a_four_corner_schema_with_two_categories_trains_and_evaluates(tmp_path):
    config = _plates_config(tmp_path, sigmas=(0.05, 0.05, 0.05, 0.05), sigma_scale=1.0)
    work = tmp_path / "run"
    result = run_main("train", str(config), "--work-dir", str(work))
    assert result.returncode == 0, result.stderr[-3000:]
    meta = torch.load(work / "best.pth", weights_only=True)["meta"]
    assert meta["keypoints"] == CORNERS and meta["classes"] == ["red_plate", "blue_plate"]
    assert meta["flip_pairs"] == [[0, 1], [2, 3]]
    tested = run_main("test", str(config), str(work / "best.pth"))
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert "red_plate" in tested.stderr and tested.stderr.strip().splitlines()[-1].startswith("kp_AP ")


def test_a_schema_without_sigmas_asks_for_them(tmp_path):
    config = _plates_config(tmp_path)
    result = run_main("train", str(config), "--work-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: evaluation.sigmas is needed for this keypoint schema")
    )

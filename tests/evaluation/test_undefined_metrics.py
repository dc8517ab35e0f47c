"""Metrics a split cannot define (no labelled pixel, no ground-truth object) are NaN inside, ``undefined`` where a
person reads them and ``null`` in JSON."""

import math

import torch

from dla_dense.evaluation import ConfusionMatrix, coco_evaluate, format_table
from dla_dense.evaluation.undefined import format_metrics, json_safe


def test_a_split_without_labelled_pixels_is_undefined_in_words():
    matrix = ConfusionMatrix(3)
    matrix.update(torch.zeros(2, 4, 4, dtype=torch.long), torch.full((2, 4, 4), 255))
    results = matrix.compute()
    assert all(math.isnan(results[k]) for k in ("mIoU", "aAcc", "mAcc"))
    summary = format_table(results, ["a", "b", "c"]).splitlines()[-1]
    assert summary == (
        "aAcc: undefined  mIoU: undefined  mAcc: undefined  (no labelled pixel: every label is ignore_index)"
    )
    assert format_metrics({k: float(results[k]) for k in ("mIoU", "aAcc")}) == "mIoU undefined  aAcc undefined"
    assert json_safe({"mIoU": math.nan, "IoU.a": 0.5}) == {"mIoU": None, "IoU.a": 0.5}


def test_coco_metrics_without_ground_truth_are_undefined(tmp_path):
    ann = tmp_path / "instances.json"
    ann.write_text(
        '{"images": [{"id": 1, "file_name": "a.png", "height": 8, "width": 8}], "annotations": [],'
        ' "categories": [{"id": 1, "name": "a"}]}'
    )
    result = [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.9}]
    metrics = coco_evaluate(ann, result)
    assert math.isnan(metrics["AP"]) and math.isnan(metrics["AP50"]) and metrics["per_class"] == {"a": -1.0}
    assert format_metrics({k: metrics[k] for k in ("AP", "AP50")}) == "AP undefined  AP50 undefined"
    assert "nan" not in metrics["table"].lower()

import copy
import math

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval
from cityscapesscripts.helpers.labels import labels, name2label, trainId2label
from PIL import Image

from dla_dense.data.cityscapes_export import save_label_ids_png, train_ids_to_label_ids
from dla_dense.errors import DLADenseError
from dla_dense.evaluation import ConfusionMatrix, format_table


def _metrics(pred, target, num_classes, ignore_index=255):
    cm = ConfusionMatrix(num_classes, ignore_index=ignore_index)
    cm.update(torch.tensor(pred), torch.tensor(target))
    return cm, cm.compute()


def test_hand_computed_with_ignore_pixel():
    # (gt, pred) pairs, ignore pixel (gt 255, pred 2) dropped: (0,0) (0,1) (1,1) (1,1) (2,0)
    # matrix rows gt: [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # class 0: tp 1, fn 1, fp 1 -> IoU 1/3, Acc 1/2
    # class 1: tp 2, fn 0, fp 1 -> IoU 2/3, Acc 1
    # class 2: tp 0, fn 1, fp 0 (the pred 2 on the ignore pixel is not a false positive) -> IoU 0, Acc 0
    # mIoU 1/3, aAcc 3/5, mAcc 1/2
    cm, r = _metrics([[0, 1, 1], [1, 0, 2]], [[0, 0, 1], [1, 2, 255]], 3)
    assert cm.matrix().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert cm.matrix().dtype == torch.int64
    np.testing.assert_allclose(r["IoU"], [1 / 3, 2 / 3, 0.0])
    np.testing.assert_allclose(r["Acc"], [1 / 2, 1.0, 0.0])
    assert r["mIoU"] == pytest.approx(1 / 3)
    assert r["aAcc"] == pytest.approx(3 / 5)
    assert r["mAcc"] == pytest.approx(1 / 2)


def test_absent_class_is_nan_and_left_out_of_the_means():
    # matrix rows gt: [[3, 0, 0, 0], [1, 2, 0, 0], [0...], [0...]]
    # class 0: tp 3, fn 0, fp 1 -> 3/4; class 1: tp 2, fn 1, fp 0 -> 2/3; classes 2, 3: NaN
    # mIoU (3/4 + 2/3) / 2 = 17/24; Acc 1, 2/3 -> mAcc 5/6; aAcc 5/6
    _, r = _metrics([[0, 1, 0], [0, 0, 1]], [[0, 1, 1], [0, 0, 1]], 4)
    assert r["IoU"][:2] == pytest.approx([3 / 4, 2 / 3])
    assert np.isnan(r["IoU"][2:]).all() and np.isnan(r["Acc"][2:]).all()
    assert r["mIoU"] == pytest.approx(17 / 24)
    assert r["mAcc"] == pytest.approx(5 / 6)
    assert r["aAcc"] == pytest.approx(5 / 6)


def test_class_predicted_but_absent_in_ground_truth_has_iou_zero():
    # class 2 only predicted (one pixel): tp 0, fn 0, fp 1 -> IoU 0, Acc NaN (no ground truth)
    # class 0: tp 2, fn 1, fp 0 -> 2/3; class 1: 1; mIoU (2/3 + 1 + 0) / 3 = 5/9; mAcc (2/3 + 1) / 2 = 5/6
    _, r = _metrics([[0, 0, 2], [1, 1, 1]], [[0, 0, 0], [1, 1, 1]], 3)
    assert r["IoU"] == pytest.approx([2 / 3, 1.0, 0.0])
    assert np.isnan(r["Acc"][2])
    assert r["mIoU"] == pytest.approx(5 / 9)
    assert r["mAcc"] == pytest.approx(5 / 6)


def test_batches_accumulate_like_one_update_and_reset():
    g = torch.Generator().manual_seed(1)
    target = torch.randint(0, 5, (4, 8, 8), generator=g)
    target[target == 4] = 255
    pred = torch.randint(0, 4, (4, 8, 8), generator=g)
    whole = ConfusionMatrix(4)
    whole.update(pred, target)
    parts = ConfusionMatrix(4)
    for i in range(4):
        parts.update(pred[i], target[i])
    assert torch.equal(whole.matrix(), parts.matrix())
    assert whole.matrix().sum() == (target != 255).sum()
    parts.reset()
    assert parts.matrix().sum() == 0 and math.isnan(parts.compute()["mIoU"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_update_on_cuda_keeps_the_matrix_there():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([[0, 1, 1], [1, 0, 2]], device="cuda"), torch.tensor([[0, 0, 1], [1, 2, 255]]))
    assert cm.matrix().device.type == "cuda"
    assert cm.compute()["mIoU"] == pytest.approx(1 / 3)


def test_bad_values_and_shapes_are_clear_errors():
    cm = ConfusionMatrix(3)
    with pytest.raises(DLADenseError, match="label value 7"):
        cm.update(torch.tensor([0, 1]), torch.tensor([7, 1]))
    with pytest.raises(DLADenseError, match="prediction value 3"):
        cm.update(torch.tensor([3, 1]), torch.tensor([0, 1]))
    cm.update(torch.tensor([3, 1]), torch.tensor([255, 1]))  # any prediction on an ignore pixel is fine
    with pytest.raises(DLADenseError, match="shape"):
        cm.update(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(DLADenseError, match="argmax"):
        cm.update(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(DLADenseError, match="ignore_index"):
        ConfusionMatrix(3, ignore_index=0)


def test_format_table_has_classes_nan_dash_and_summary():
    _, r = _metrics([[0, 1, 0], [0, 0, 1]], [[0, 1, 1], [0, 0, 1]], 3)
    table = format_table(r, ["road", "sidewalk", "building"])
    lines = table.splitlines()
    assert lines[1].split("|")[1:4] == [" Class    ", "    IoU ", "    Acc "]
    assert "| road     |  75.00 | 100.00 |" in lines
    assert "| building |      - |      - |" in lines
    assert lines[-1] == "aAcc: 83.33  mIoU: 70.83  mAcc: 83.33"
    assert "| 2     |" in format_table(r)
    with pytest.raises(DLADenseError, match="2 class names"):
        format_table(r, ["a", "b"])


def _all_reduce_worker(rank: int, init_file: str, queue) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        cm = ConfusionMatrix(2)
        cm.update(torch.tensor([rank, 1]), torch.tensor([0, 1]))
        cm.all_reduce()
        queue.put((rank, cm.matrix().tolist()))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or "fork" not in mp.get_all_start_methods(), reason="needs gloo and fork")
def test_all_reduce_sums_over_ranks(tmp_path):
    queue = mp.get_context("fork").SimpleQueue()
    mp.start_processes(_all_reduce_worker, args=(str(tmp_path / "init"), queue), nprocs=2, start_method="fork")
    # rank 0 adds (gt 0, pred 0) and (1, 1); rank 1 adds (0, 1) and (1, 1)
    assert dict(queue.get() for _ in range(2)) == {0: [[1, 1], [0, 2]], 1: [[1, 1], [0, 2]]}


def test_all_reduce_without_distributed_is_a_no_op():
    cm = ConfusionMatrix(2)
    cm.update(torch.tensor([0]), torch.tensor([0]))
    cm.all_reduce()
    assert cm.matrix().tolist() == [[1, 0], [0, 0]]


LABEL_TO_TRAIN = np.full(256, 255, dtype=np.uint8)
for _label in labels:
    if _label.id >= 0 and 0 <= _label.trainId < 255:
        LABEL_TO_TRAIN[_label.id] = _label.trainId


def test_train_ids_to_label_ids_uses_the_cityscapes_table():
    train_ids = np.array([[0, 1, 10], [13, 18, 255]])
    label_ids = train_ids_to_label_ids(torch.from_numpy(train_ids))
    assert label_ids.dtype == np.uint8
    assert label_ids.tolist() == [[7, 8, 23], [26, 33, 0]]
    assert [trainId2label[t].id for t in range(19)] == train_ids_to_label_ids(np.arange(19)[None]).tolist()[0]
    with pytest.raises(DLADenseError, match="train id 19"):
        train_ids_to_label_ids(np.array([[19]]))


def test_confusion_matrix_matches_official_cityscapes_evaluation(tmp_path):
    rng = np.random.default_rng(0)
    valid_ids = [label.id for label in labels if 0 <= label.id <= 33]
    gt_files, pred_files = [], []
    ours = ConfusionMatrix(19)
    for i in range(3):
        # ground truth: 8x8 blocks of random real label ids (evaluated and ignored ones alike)
        gt = np.kron(rng.choice(valid_ids, size=(8, 16)), np.ones((8, 8), dtype=np.int64)).astype(np.uint8)
        gt[gt == 24] = 26  # no 'person' pixels anywhere: a class predicted but absent in the ground truth
        gt[gt == 33] = 32  # 'bicycle' never appears nor is predicted: NaN, left out of the average
        gt_train = LABEL_TO_TRAIN[gt]
        pred = gt_train.astype(np.int64)
        pred[pred == 255] = rng.integers(0, 18, size=int((pred == 255).sum()))
        errors = rng.random(pred.shape) < 0.2
        pred[errors] = rng.integers(0, 18, size=int(errors.sum()))
        gt_path = tmp_path / "gtFine" / f"city_{i:06d}_000019_gtFine_labelIds.png"
        gt_path.parent.mkdir(exist_ok=True)
        Image.fromarray(gt).save(gt_path)
        pred_path = save_label_ids_png(tmp_path / "results" / f"city_{i:06d}_000019.png", pred)
        gt_files.append(str(gt_path))
        pred_files.append(str(pred_path))
        ours.update(torch.from_numpy(pred), torch.from_numpy(gt_train.astype(np.int64)))

    args = copy.copy(cs_eval.args)
    args.quiet = True
    args.JSONOutput = False
    args.evalInstLevelScore = False
    official = cs_eval.evaluateImgLists(pred_files, gt_files, args)

    r = ours.compute()
    official_iou = [official["classScores"][trainId2label[t].name] for t in range(19)]
    assert np.isnan(official_iou[18]) and np.isnan(r["IoU"][18])
    assert official_iou[11] == 0.0 and r["IoU"][11] == 0.0
    np.testing.assert_allclose(r["IoU"], official_iou, rtol=0, atol=1e-12)
    assert r["mIoU"] == pytest.approx(official["averageScoreClasses"], abs=1e-6)
    assert all(math.isnan(v) for k, v in official["classScores"].items() if name2label[k].ignoreInEval)

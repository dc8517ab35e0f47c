"""Every evaluator has one shape (reset / process / gather / compute / table) and the one loop drives it; the
evaluation sampler keeps each video on one process, in order."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from dla_dense.dist import DistInfo
from dla_dense.engine.sampling import ShardSampler
from dla_dense.evaluation import (
    Comparison,
    ConfusionMatrix,
    Evaluator,
    SegEvaluator,
    TopKEvaluator,
    run_evaluation,
)

ONE = DistInfo(device=torch.device("cpu"))


def test_topk_counts_hits_by_hand():
    logits = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.2, 0.3, 0.5]])
    labels = torch.tensor([0, 1, 1, 0])  # top-1 hits: rows 0; top-2 hits: rows 0, 2; row 1: 1 is second
    evaluator = TopKEvaluator(2)
    evaluator.process({"label": labels[:2]}, logits[:2])
    evaluator.process({"label": labels[2:]}, logits[2:])
    assert evaluator.compute() == {"top1": 0.25, "top5": 0.75}
    assert "top-1 25.00 %" in evaluator.table() and "(4 images)" in evaluator.table()
    evaluator.reset()
    assert math.isnan(evaluator.compute()["top1"]) and "undefined" in evaluator.table()


def test_seg_evaluator_equals_the_confusion_matrix():
    g = torch.Generator().manual_seed(0)
    pred, label = torch.randint(0, 3, (2, 5, 6), generator=g), torch.randint(0, 3, (2, 5, 6), generator=g)
    evaluator = SegEvaluator(["a", "b", "c"])
    evaluator.process({"label": label}, pred)
    matrix = ConfusionMatrix(3)
    matrix.update(pred, label)
    expected = matrix.compute()
    metrics = evaluator.compute()
    assert metrics["mIoU"] == pytest.approx(expected["mIoU"])
    assert [metrics[f"IoU.{c}"] for c in "abc"] == pytest.approx(list(expected["IoU"]))
    assert "| a " in evaluator.table()


class _Recording(Evaluator):
    def __init__(self):
        self.calls = []

    def reset(self):
        self.calls.append("reset")

    def process(self, batch, predictions):
        self.calls.append(("process", batch, predictions))

    def gather(self, dist):
        self.calls.append("gather")

    def compute(self):
        self.calls.append("compute")
        return {"m": 1.0}

    def table(self):
        return "TABLE"

    def write(self, out):
        self.calls.append(("write", out))
        return f"written to {out}"


def test_the_loop_drives_an_evaluator_in_eval_mode_and_restores_the_mode(tmp_path):
    model = nn.Linear(1, 1).train()
    modes = []
    evaluator = _Recording()

    def predict(m, batch):
        modes.append(m.training)
        return batch * 10

    metrics = run_evaluation(model, [1, 2], predict, evaluator, ONE, out=tmp_path)
    assert metrics == {"m": 1.0} and model.training and modes == [False, False]
    calls = ["reset", ("process", 1, 10), ("process", 2, 20), "gather", "compute", ("write", tmp_path)]
    assert evaluator.calls == calls
    other = DistInfo(device=torch.device("cpu"), rank=1, world_size=2)
    evaluator = _Recording()
    assert run_evaluation(model, [3], predict, evaluator, other, out=tmp_path) == {}
    assert evaluator.calls[-1] == "gather"  # only the main process computes and writes


def test_a_comparison_runs_each_evaluator_on_the_same_data_and_prefixes_the_others():
    main, other = _Recording(), _Recording()
    both = Comparison(
        {"a": main, "b": other}, titles={"a": "method a", "b": "method b"}, prefixes={"b": "base"}, headline=str
    )
    metrics = run_evaluation(nn.Linear(1, 1), [1], lambda m, x: {"a": x, "b": -x}, both, ONE)
    assert metrics == {"m": 1.0, "base_m": 1.0}
    assert ("process", 1, 1) in main.calls and ("process", 1, -1) in other.calls
    assert both.table() == "method a:\nTABLE\nbase (method b of the same detections): {'m': 1.0}"


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_videos_stay_whole_and_in_order_on_one_process(world_size):
    videos = ["a"] * 5 + ["b"] * 2 + ["c"] * 4 + ["d"] * 1
    shards = [ShardSampler(len(videos), rank, world_size, videos).indices for rank in range(world_size)]
    assert sorted(i for shard in shards for i in shard) == list(range(len(videos)))
    for shard in shards:
        assert shard == sorted(shard)
        for video in set(videos):
            frames = [i for i, v in enumerate(videos) if v == video]
            assert set(frames) <= set(shard) or not set(frames) & set(shard)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 5  # balanced by frames, longest video first
    assert np.array_equal(ShardSampler(4, 1, 2).indices, [1, 3])  # without videos: every world_size-th item

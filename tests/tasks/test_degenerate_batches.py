"""Degenerate training batches give finite losses: all-void segmentation labels, detection images without
boxes, a classification batch of one image."""

import torch

from dla_dense.config import default_config
from dla_dense.tasks import TASKS
from dla_dense.tasks.parts import probe

CPU = torch.device("cpu")


def _task(name: str, **model):
    return TASKS[name](default_config(name, backbone="dla46_c", num_classes=3, **model))


def test_all_void_segmentation_batch_is_zero_loss_without_gradient_and_counted():
    task = _task("seg")
    model = task.build_model().train()
    batch = probe(task).random_batch(2, (64, 64), CPU)
    batch["label"].fill_(task.cfg.data.ignore_index)
    terms = task.loss(model, batch, CPU)
    assert terms["ce_loss"].item() == 0.0
    terms["ce_loss"].backward()
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    assert task.counters["unlabelled_batches"] == 1
    batch = probe(task).random_batch(2, (64, 64), CPU)
    assert task.loss(model, batch, CPU)["ce_loss"] > 0 and task.counters["unlabelled_batches"] == 1


def test_detection_batch_without_boxes_is_finite():
    task = _task("det", head_conv=16)
    model = task.build_model().train()
    batch = probe(task).random_batch(2, (64, 64), CPU)
    for key in ("hm", "wh", "reg", "reg_mask"):
        batch[key].zero_()
    terms = task.loss(model, batch, CPU)
    assert all(torch.isfinite(v) for v in terms.values())
    assert terms["wh_loss"].item() == 0.0 and terms["off_loss"].item() == 0.0 and terms["hm_loss"] > 0
    task.total_loss(terms).backward()


def test_classification_batch_of_one_image_is_finite():
    task = _task("cls")
    model = task.build_model().train()
    terms = task.loss(model, probe(task).random_batch(1, (64, 64), CPU), CPU)
    assert torch.isfinite(terms["ce_loss"])
    terms["ce_loss"].backward()

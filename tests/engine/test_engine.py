import errno
import logging
import os
import subprocess
import sys

import pytest
import torch

from dla_dense import DLADenseError
from dla_dense.config import OptimConfig
from dla_dense.engine import checkpoint as ckpt
from dla_dense.engine.optim import build_optimizer, build_scheduler, lr_factor
from dla_dense.engine.sampling import BadSamples, DrawSampler, SeededDraws


def test_poly_schedule_with_warmup_by_hand():
    cfg = OptimConfig(lr=0.1, schedule="poly", power=0.9, warmup_iters=10, warmup_ratio=0.1)
    assert lr_factor(0, cfg, 100) == pytest.approx(0.1)
    assert lr_factor(5, cfg, 100) == pytest.approx((1 - 0.05) ** 0.9 * (0.1 + 0.9 * 0.5))
    assert lr_factor(50, cfg, 100) == pytest.approx(0.5**0.9)
    assert lr_factor(100, cfg, 100) == 0.0


def test_step_schedule_and_scheduler_state_is_plain():
    cfg = OptimConfig(lr=1.0, schedule="step", steps=(3, 5), gamma=0.1)
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(model.parameters(), cfg)
    sched = build_scheduler(opt, cfg, 10)
    lrs = []
    for _ in range(7):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([1, 1, 1, 0.1, 0.1, 0.01, 0.01])
    torch.save(sched.state_dict(), "/dev/null")
    assert all(not callable(v) for v in sched.state_dict().values())


class _Items(torch.utils.data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return (i, torch.rand(()).item())


def test_draws_are_a_pure_function_of_the_draw_number():
    draws = SeededDraws(_Items(), seed=3)
    first = [draws[k][0] for k in range(12)]
    assert sorted(i for i, _ in first[:5]) == list(range(5)) and sorted(i for i, _ in first[5:10]) == list(range(5))
    assert [i for i, _ in first[:5]] != [i for i, _ in first[5:10]]
    again = SeededDraws(_Items(), seed=3)
    assert [again[k][0] for k in (11, 3, 7)] == [first[11], first[3], first[7]]
    state = torch.get_rng_state()
    draws[0]
    assert torch.equal(state, torch.get_rng_state())


class _SomeBad(_Items):
    def __init__(self, bad=(4, 5, 11)):
        self.bad = bad

    def __len__(self):
        return 20

    def __getitem__(self, i):
        if i in self.bad:
            raise DLADenseError(f"cannot read image 'img{i}.png'")
        return super().__getitem__(i)


def test_bad_samples_are_replaced_by_the_next_index_deterministically():
    clean = SeededDraws(_SomeBad(bad=()), seed=1)
    draws = SeededDraws(_SomeBad(), seed=1, max_bad_fraction=0.2)
    items = [draws[k] for k in range(40)]
    for k, ((index, value), skipped) in enumerate(items):
        (drawn, clean_value), nothing = clean[k]
        expected = {4: 6, 5: 6, 11: 12}.get(drawn, drawn)
        assert index == expected and value == clean_value and nothing == []  # same augmentation seed
        assert [i for i, _ in skipped] == list(range(drawn, expected))
        assert all(f"'img{i}.png'" in message for i, message in skipped)
    again = SeededDraws(_SomeBad(), seed=1, max_bad_fraction=0.2)
    assert [again[k] for k in (37, 2, 21)] == [items[37], items[2], items[21]]

    with pytest.raises(DLADenseError, match="img4.png.*on_bad_sample='fail'"):
        [SeededDraws(_SomeBad(), seed=1, on_bad_sample="fail")[k] for k in range(20)]
    with pytest.raises(DLADenseError, match="2 training samples in a row.*max_bad_fraction=0.05.*img4.png"):
        [SeededDraws(_SomeBad(), seed=1, max_bad_fraction=0.05)[k] for k in range(20)]


def test_bad_sample_log_warns_once_per_file_and_stops_when_too_many(caplog):
    logger = logging.getLogger("dla_dense.test")
    log = BadSamples(20, 0.1, logger)
    with caplog.at_level(logging.WARNING, logger="dla_dense.test"):
        log.update([(4, "cannot read image 'img4.png'")])
        log.update([(4, "cannot read image 'img4.png'"), (5, "cannot read image 'img5.png'")])
    assert [r.getMessage().count("img") for r in caplog.records] == [1, 1]
    assert "img4.png" in caplog.records[0].getMessage() and "img5.png" in caplog.records[1].getMessage()
    with pytest.raises(DLADenseError, match="3 of 20 training samples cannot be used.*max_bad_fraction=0.1"):
        log.update([(11, "cannot read image 'img11.png'")])


def test_draw_sampler_shards_and_resumes():
    full = list(DrawSampler(batch_size=2, start_iter=0, max_iters=3))
    assert full == list(range(6))
    ranks = [list(DrawSampler(batch_size=2, start_iter=1, max_iters=3, rank=r, world_size=2)) for r in (0, 1)]
    assert ranks == [[4, 5, 8, 9], [6, 7, 10, 11]]


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "iter_0000001.pth"
    ckpt.save_checkpoint(path, {"model": {"w": torch.ones(2)}, "iteration": 1})

    def disk_full(obj, f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(DLADenseError, match="No space left on device.*previous file is intact"):
        ckpt.save_checkpoint(path, {"model": {"w": torch.zeros(2)}, "iteration": 2})
    monkeypatch.undo()
    assert torch.equal(ckpt.load_training_state(path)["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_last_pointer_and_pruning(tmp_path):
    for i in (1, 2, 3):
        path = ckpt.save_checkpoint(tmp_path / f"iter_{i:07d}.pth", {"model": {}, "iteration": i})
        ckpt.write_last_pointer(tmp_path, path)
        ckpt.prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.glob("iter_*")) == ["iter_0000002.pth", "iter_0000003.pth"]
    assert ckpt.last_checkpoint(tmp_path).name == "iter_0000003.pth"
    assert ckpt.last_checkpoint(tmp_path / "empty") is None


def test_loading_something_else_is_a_clear_error(tmp_path):
    (tmp_path / "x.pth").write_bytes(b"garbage")
    with pytest.raises(DLADenseError, match="not a readable dla_dense checkpoint"):
        ckpt.load_training_state(tmp_path / "x.pth")
    torch.save({"w": torch.ones(1)}, tmp_path / "y.pth")
    with pytest.raises(DLADenseError, match="not a dla_dense training checkpoint"):
        ckpt.load_training_state(tmp_path / "y.pth")


_FORK_AFTER_OPENCV = """
import cv2, numpy as np, torch
from torch.utils.data import Dataset
from dla_dense.dist import DistInfo
from dla_dense.engine.sampling import eval_loader, iter_batches, keep_sample

class Warped(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return float(cv2.warpAffine(np.full((400, 400), i, np.float32), np.eye(2, 3), (400, 400)).mean())

big = np.zeros((2000, 2000, 3), np.float32)
for _ in range(3):
    cv2.warpAffine(big, np.eye(2, 3), (2000, 2000))  # the main process's OpenCV thread pool is busy
    loader = eval_loader(Warped(), DistInfo(), num_workers=2, batch_size=None, collate_fn=keep_sample)
    assert sorted(iter_batches(loader)) == [0.0, 1.0, 2.0, 3.0]
print("ok")
"""


@pytest.mark.slow  # forked data workers
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs the fork start method")
def test_workers_forked_after_opencv_ran_in_parallel_do_not_hang():
    # OpenCV's thread pool does not survive fork; before_workers makes the main process single-threaded first.
    env = dict(os.environ, OMP_NUM_THREADS="2")
    done = subprocess.run(
        [sys.executable, "-c", _FORK_AFTER_OPENCV], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]

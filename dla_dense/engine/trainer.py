"""The training loop shared by every task: iterations, AMP, checkpoints, resume, validation, DDP."""

from __future__ import annotations

import contextlib
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..config import Config
from ..errors import DLADenseError
from ..weights import mismatch_listing, shape_mismatches
from .checkpoint import (
    last_checkpoint,
    load_training_state,
    prune_checkpoints,
    remove_stale_temp_files,
    save_checkpoint,
    write_last_pointer,
)
from .dist import DistInfo, barrier, broadcast_flag, cleanup_distributed, init_distributed
from .logging import MetricsWriter, setup_logger
from .optim import build_optimizer, build_scheduler
from .sampling import (
    BadSamples,
    DrawSampler,
    SeededDraws,
    before_workers,
    collate_draws,
    data_workers,
    iter_batches,
    worker_init,
)


class Task(Protocol):
    """What the loop needs from a task (segmentation, classification)."""

    metric: str

    def prepare(self) -> None: ...

    def build_model(self) -> nn.Module: ...

    def train_set(self) -> Dataset: ...

    def val_set(self) -> Dataset: ...

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor: ...

    def evaluate(self, model: nn.Module, dataset: Dataset, dist: DistInfo) -> dict[str, float]: ...

    def meta(self) -> dict[str, Any]: ...


@dataclass
class TrainResult:
    """How a run ended: last iteration, final and best validation metrics, where files are."""

    iteration: int
    work_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 convolutions natively (CUDA with bf16, CPU with AMX or AVX512-BF16)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    return False


def resolve_amp(device: torch.device, amp: str) -> str:
    """``amp`` with 'auto' made concrete: 'bf16' where the device has native bf16, else 'none'."""
    if amp != "auto":
        return amp
    return "bf16" if native_bf16(device) else "none"


def autocast(device: torch.device, amp: str):
    """The autocast context for ``amp`` ('none', 'bf16', 'fp16', 'auto')."""
    amp = resolve_amp(device, amp)
    if amp == "none":
        return contextlib.nullcontext()
    if amp == "fp16" and device.type != "cuda":
        raise DLADenseError("train.amp=fp16 needs a CUDA device; use train.amp=bf16 on CPU")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


class _StopSignals:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each iteration."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def train(
    cfg: Config,
    task_factory,
    *,
    work_dir: str | Path | None = None,
    resume: str | None = None,
    device: str | None = None,
) -> TrainResult:
    """Train ``task_factory(cfg)`` for ``cfg.train.max_iters`` iterations in ``work_dir``.

    ``resume``: None (fresh run), ``"auto"`` (the work dir's last checkpoint, if any) or a checkpoint
    path. Works alone or under ``torchrun`` (one process per device).
    """
    dist = init_distributed(device)
    try:
        return _train(cfg, task_factory, dist, work_dir, resume)
    finally:
        cleanup_distributed()


def _train(cfg: Config, task_factory, dist: DistInfo, work_dir, resume) -> TrainResult:
    tc = cfg.train
    work_dir = Path(work_dir or Path("work_dirs") / cfg.name)
    if dist.is_main:
        work_dir.mkdir(parents=True, exist_ok=True)
    barrier()
    logger = setup_logger(work_dir, main=dist.is_main)
    if dist.is_main:
        for stale in remove_stale_temp_files(work_dir):
            logger.warning(f"removed '{stale}', a checkpoint left half-written by an interrupted run")
    torch.manual_seed(tc.seed)
    if tc.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    task = task_factory(cfg)
    if dist.is_main:
        task.prepare()
    barrier()
    train_set, val_set = task.train_set(), task.val_set()
    model = task.build_model().to(dist.device)
    if tc.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if tc.sync_bn and dist.distributed:
        if dist.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            logger.warning("train.sync_bn is ignored on CPU: PyTorch's SyncBatchNorm needs CUDA devices")
    optimizer = build_optimizer(model.parameters(), cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.optim, tc.max_iters)
    amp = resolve_amp(dist.device, tc.amp)
    if tc.amp == "auto":
        logger.info("train.amp=auto: mixed precision %s on %s", amp, dist.device)
    scaler = torch.amp.GradScaler(dist.device.type, enabled=amp == "fp16")
    start_iter, best = 0, {}

    checkpoint = _resume_path(resume, work_dir)
    if checkpoint is not None:
        state = load_training_state(checkpoint)
        _check_resumable(model, state, checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        start_iter, best = int(state["iteration"]), dict(state.get("best", {}))
        logger.info(f"resumed from {checkpoint} at iteration {start_iter}")
    if dist.distributed:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[dist.local_rank] if dist.device.type == "cuda" else None
        )

    num_workers = data_workers(cfg.data.num_workers, dist)
    before_workers(num_workers)
    sampler = DrawSampler(
        batch_size=cfg.data.batch_size,
        start_iter=start_iter,
        max_iters=tc.max_iters,
        rank=dist.rank,
        world_size=dist.world_size,
    )
    loader = DataLoader(
        SeededDraws(
            train_set, tc.seed, on_bad_sample=cfg.data.on_bad_sample, max_bad_fraction=cfg.data.max_bad_fraction
        ),
        batch_size=cfg.data.batch_size,
        sampler=sampler,
        collate_fn=collate_draws,
        num_workers=num_workers,
        pin_memory=dist.device.type == "cuda",
        drop_last=True,
        worker_init_fn=worker_init,
    )
    if dist.is_main:
        cfg.dump(work_dir / "config.py")
    metrics_writer = MetricsWriter(work_dir, tensorboard=tc.tensorboard) if dist.is_main else None
    bad_samples = BadSamples(len(train_set), cfg.data.max_bad_fraction, logger)
    logger.info(
        f"training {cfg.name}: {len(train_set)} train / {len(val_set)} val images, {tc.max_iters} iterations "
        f"of batch {cfg.data.batch_size} x {dist.world_size} process(es) on {dist.device}, work dir {work_dir}"
    )
    result = TrainResult(iteration=start_iter, work_dir=work_dir, best=best)
    bar = tqdm(
        total=tc.max_iters,
        initial=start_iter,
        desc="train",
        unit="it",
        dynamic_ncols=True,
        disable=not dist.is_main,
        mininterval=1.0,
    )
    window: list[float] = []
    tick = time.perf_counter()
    with _StopSignals() as stop, bar:
        iteration = start_iter
        for batch, skipped in iter_batches(loader):
            bad_samples.update(skipped)
            model.train()
            with autocast(dist.device, amp):
                loss = task.loss(model, batch, dist.device)
            optimizer.zero_grad(set_to_none=True)
            if not torch.isfinite(loss).item():
                if tc.on_nan == "stop":
                    last = last_checkpoint(work_dir)
                    kept = f"the last good checkpoint is '{last}'" if last else "no checkpoint was written yet"
                    raise DLADenseError(
                        f"loss became {loss.item()} at iteration {iteration + 1}; training stopped and {kept}. "
                        "Lower optim.lr, set optim.clip_grad_norm, or set train.on_nan=skip"
                    )
                logger.warning(f"iteration {iteration + 1}: loss is {loss.item()}, step skipped")
            else:
                scaler.scale(loss).backward()
                if cfg.optim.clip_grad_norm:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.clip_grad_norm)
                scaler.step(optimizer)
                scaler.update()
            scheduler.step()
            iteration += 1
            window.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}", refresh=False)
            if iteration % tc.log_interval == 0 or iteration == tc.max_iters:
                elapsed = time.perf_counter() - tick
                values = {
                    "loss": sum(window) / len(window),
                    "lr": scheduler.get_last_lr()[0],
                    "time": elapsed / len(window),
                }
                eta = values["time"] * (tc.max_iters - iteration)
                logger.info(
                    f"iter {iteration}/{tc.max_iters}  loss {values['loss']:.4f}  lr {values['lr']:.3e}  "
                    f"{values['time']:.2f} s/it  eta {_hms(eta)}"
                )
                if metrics_writer:
                    metrics_writer.write("train", iteration, values)
                window, tick = [], time.perf_counter()
            stopping = broadcast_flag(stop.received is not None) if dist.distributed else stop.received is not None
            if iteration % tc.val_interval == 0 or iteration == tc.max_iters:
                result.metrics = task.evaluate(_unwrap(model), val_set, dist)
                best = _track_best(result.metrics, best, iteration, task, cfg, work_dir, model, dist, logger)
                if metrics_writer:
                    metrics_writer.write("val", iteration, result.metrics)
            if iteration % tc.checkpoint_interval == 0 or iteration == tc.max_iters or stopping:
                _save(work_dir, dist, model, optimizer, scheduler, scaler, iteration, best, task, cfg)
            result.iteration, result.best = iteration, best
            if stopping:
                result.interrupted = True
                logger.warning(
                    f"stopped by {stop.received or 'a signal on another process'} at iteration {iteration}; "
                    f"checkpoint saved, continue with --resume"
                )
                break
    if metrics_writer:
        metrics_writer.close()
    barrier()
    return result


def _resume_path(resume: str | None, work_dir: Path) -> Path | None:
    if resume is None:
        return None
    if resume == "auto":
        return last_checkpoint(work_dir)
    path = Path(resume)
    if not path.is_file():
        raise DLADenseError(f"checkpoint to resume from not found: '{path}'; omit the path to use the latest")
    return path


def _check_resumable(model: nn.Module, state: dict[str, Any], checkpoint: Path) -> None:
    """Raise :class:`DLADenseError` when ``state`` lacks the training state or its weights do not fit ``model``
    (listing the missing, unexpected and mismatched keys)."""
    absent = [key for key in ("optimizer", "scheduler", "rng") if key not in state]
    if absent:
        raise DLADenseError(
            f"'{checkpoint}' holds model weights but no training state ({', '.join(absent)}); "
            "resume from an iter_*.pth file of a work dir"
        )
    own, weights = model.state_dict(), state["model"]
    missing = sorted(k for k in own if k not in weights)
    unexpected = sorted(k for k in weights if k not in own)
    problems = mismatch_listing(missing, unexpected, shape_mismatches(weights, own))
    if problems:
        raise DLADenseError(
            f"checkpoint '{checkpoint}' does not fit this config's model: {problems}"
            "resume with the config the run was started with"
        )


def _track_best(metrics, best, iteration, task, cfg, work_dir, model, dist, logger) -> dict[str, float]:
    """Save ``best.pth`` (weights and meta) when ``metrics`` improve on ``best``; return the new best."""
    value = metrics.get(task.metric, float("nan"))
    if not dist.is_main or not math.isfinite(value) or value <= best.get(task.metric, -math.inf):
        return best
    best = {task.metric: value, "iter": iteration}
    state = {
        "model": _unwrap(model).state_dict(),
        "iteration": iteration,
        "best": best,
        "meta": _meta(task, cfg),
    }
    save_checkpoint(work_dir / "best.pth", state)
    logger.info(f"best {task.metric} so far: {value:.4f} at iteration {iteration}, saved {work_dir / 'best.pth'}")
    return best


def _meta(task: Task, cfg: Config) -> dict[str, Any]:
    return {**task.meta(), "config": cfg.to_dict(), "config_name": cfg.name}


def _save(work_dir, dist, model, optimizer, scheduler, scaler, iteration, best, task, cfg) -> None:
    if not dist.is_main:
        return
    rng = {"torch": torch.get_rng_state()}
    state = {
        "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "iteration": iteration,
        "best": best,
        "rng": rng,
        "meta": _meta(task, cfg),
    }
    path = save_checkpoint(work_dir / f"iter_{iteration:07d}.pth", state)
    write_last_pointer(work_dir, path)
    prune_checkpoints(work_dir, cfg.train.keep_checkpoints)


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

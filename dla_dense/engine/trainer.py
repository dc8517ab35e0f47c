"""The training loop shared by every task: :class:`Trainer` (iterations, AMP, resume, DDP) and :func:`train`."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..config import Config
from ..dist import DistInfo, average_gradients, barrier, broadcast_flag, cleanup_distributed, init_distributed
from ..errors import DLADenseError
from ..outputs import output_dir
from ..weights import mismatch_listing, shape_mismatches
from .checkpoint import last_checkpoint, load_training_state, remove_stale_temp_files
from .hooks import Hook, default_hooks
from .lock import WorkDirLock
from .logging import MetricsWriter, get_logger, setup_logger
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

if TYPE_CHECKING:
    from ..tasks.base import Task


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
    make_task: Callable[[Config], Task],
    *,
    work_dir: str | Path | None = None,
    resume: str | None = None,
    device: str | None = None,
) -> TrainResult:
    """Train the task ``make_task(cfg)`` (e.g. :func:`dla_dense.tasks.build_task`) for ``cfg.train.max_iters``
    iterations in ``work_dir``; the task is made after the seed is set.

    ``resume``: None (fresh run), ``"auto"`` (the work dir's last checkpoint, if any) or a checkpoint
    path. Works alone or under ``torchrun`` (one process per device).
    """
    dist = init_distributed(device)
    try:
        work_dir = Path(work_dir or Path("work_dirs") / cfg.name)
        if dist.is_main:
            output_dir(work_dir, "--work-dir")
        barrier()
        with WorkDirLock(work_dir) if dist.is_main else contextlib.nullcontext():
            logger = setup_logger(work_dir, main=dist.is_main)
            if dist.is_main:
                for stale in remove_stale_temp_files(work_dir):
                    logger.warning(f"removed '{stale}', a checkpoint left half-written by an interrupted run")
            torch.manual_seed(cfg.train.seed)
            if cfg.train.deterministic:
                torch.use_deterministic_algorithms(True, warn_only=True)
            task = make_task(cfg)
            if dist.is_main:
                task.prepare()
            barrier()
            trainer = Trainer(cfg, task, dist, work_dir)
            checkpoint = _resume_path(resume, work_dir)
            if checkpoint is not None:
                trainer.resume(checkpoint)
            return trainer.train()
    finally:
        cleanup_distributed()


class Trainer:
    """Holds a run's model, optimizer, scheduler, gradient scaler, iteration, best metric and work dir, and
    runs the iterations; :mod:`~dla_dense.engine.hooks` log, validate and checkpoint around each one.

    One iteration (:meth:`run_step`): the task's loss terms under autocast, their weighted sum, backward
    (skipped, or the run stopped, when the sum is not finite), gradient clipping, optimizer and scheduler
    step. Batches come from :class:`~dla_dense.engine.sampling.DrawSampler`, so a resumed run draws exactly
    the samples the uninterrupted one would have.
    """

    def __init__(
        self, cfg: Config, task: Task, dist: DistInfo, work_dir: Path, hooks: list[Hook] | None = None
    ) -> None:
        tc = cfg.train
        self.cfg, self.task, self.dist, self.work_dir = cfg, task, dist, Path(work_dir)
        self.logger = get_logger()
        self.max_iters = tc.max_iters
        self.iteration, self.best, self.metrics = 0, {}, {}
        self.losses: dict[str, float] = {}
        self.stopping = False
        self.writer: MetricsWriter | None = None
        self.hooks = default_hooks(tc) if hooks is None else hooks
        self.train_set, self.val_set = task.train_set(), task.val_set()
        model = task.build_model().to(dist.device)
        if tc.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if tc.sync_bn and dist.distributed:
            if dist.device.type == "cuda":
                model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            else:
                self.logger.warning("train.sync_bn is ignored on CPU: PyTorch's SyncBatchNorm needs CUDA devices")
        self.unwrapped = model
        self.model = model
        criterion = task.build_criterion()
        self.criterion = task.criterion = criterion.to(dist.device) if criterion is not None else None
        self.optimizer = build_optimizer(self.parameters(), cfg.optim)
        self.scheduler = build_scheduler(self.optimizer, cfg.optim, tc.max_iters)
        self.amp = resolve_amp(dist.device, tc.amp)
        if tc.amp == "auto":
            self.logger.info("train.amp=auto: mixed precision %s on %s", self.amp, dist.device)
        self.scaler = torch.amp.GradScaler(dist.device.type, enabled=self.amp == "fp16")

    def parameters(self) -> list[nn.Parameter]:
        """What the optimizer trains: the model's parameters, then the learned loss's (:attr:`criterion`)."""
        learned = list(self.criterion.parameters()) if self.criterion is not None else []
        return [*self.unwrapped.parameters(), *learned]

    def resume(self, checkpoint: Path) -> None:
        """Continue from the full training state in ``checkpoint`` (weights, learned loss, optimizer, scheduler,
        scaler, RNG)."""
        state = load_training_state(checkpoint)
        _check_resumable(self.unwrapped, state, checkpoint)
        if self.criterion is not None:
            if not state.get("criterion"):
                raise DLADenseError(
                    f"'{checkpoint}' holds no learned loss state (identity classifier) that this config trains; "
                    "resume with the config the run was started with"
                )
            self.criterion.load_state_dict(state["criterion"])
        self.unwrapped.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        self.iteration, self.best = int(state["iteration"]), dict(state.get("best", {}))
        self.logger.info(f"resumed from {checkpoint} at iteration {self.iteration}")

    def meta(self) -> dict[str, Any]:
        """The task's meta plus the resolved config, stored in every checkpoint."""
        return {**self.task.meta(), "config": self.cfg.to_dict(), "config_name": self.cfg.name}

    def state_dict(self) -> dict[str, Any]:
        """The full training state that :meth:`resume` continues from."""
        return {
            "model": self.unwrapped.state_dict(),
            "criterion": self.criterion.state_dict() if self.criterion is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "iteration": self.iteration,
            "best": self.best,
            "rng": {"torch": torch.get_rng_state()},
            "meta": self.meta(),
        }

    def _loader(self) -> DataLoader:
        cfg, dist = self.cfg, self.dist
        num_workers = data_workers(cfg.data.num_workers, dist)
        before_workers(num_workers)
        sampler = DrawSampler(
            batch_size=cfg.data.batch_size,
            start_iter=self.iteration,
            max_iters=self.max_iters,
            rank=dist.rank,
            world_size=dist.world_size,
        )
        draws = SeededDraws(
            self.train_set,
            cfg.train.seed,
            on_bad_sample=cfg.data.on_bad_sample,
            max_bad_fraction=cfg.data.max_bad_fraction,
        )
        return DataLoader(
            draws,
            batch_size=cfg.data.batch_size,
            sampler=sampler,
            collate_fn=collate_draws,
            num_workers=num_workers,
            pin_memory=dist.device.type == "cuda",
            drop_last=True,
            worker_init_fn=worker_init,
        )

    def run_step(self, batch: dict[str, Any]) -> None:
        """One iteration on ``batch``; ``self.losses`` gets the weighted total ``loss`` and every term."""
        self.model.train()
        with autocast(self.dist.device, self.amp):
            terms = self.task.loss(self.model, batch, self.dist.device)
        loss = self.task.total_loss(terms)
        self.optimizer.zero_grad(set_to_none=True)
        if not torch.isfinite(loss).item():
            if self.cfg.train.on_nan == "stop":
                last = last_checkpoint(self.work_dir)
                kept = f"the last good checkpoint is '{last}'" if last else "no checkpoint was written yet"
                raise DLADenseError(
                    f"loss became {loss.item()} at iteration {self.iteration + 1}; training stopped and {kept}. "
                    "Lower optim.lr, set optim.clip_grad_norm, or set train.on_nan=skip"
                )
            self.logger.warning(f"iteration {self.iteration + 1}: loss is {loss.item()}, step skipped")
        else:
            self.scaler.scale(loss).backward()
            if self.criterion is not None and self.dist.distributed:
                average_gradients(self.criterion)
            if self.cfg.optim.clip_grad_norm:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.parameters(), self.cfg.optim.clip_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.scheduler.step()
        self.losses = {"loss": loss.item(), **{name: value.item() for name, value in terms.items()}}

    def train(self) -> TrainResult:
        """Iterate to ``max_iters`` (or until SIGINT/SIGTERM, after a checkpoint); returns how the run ended."""
        if self.dist.distributed:
            self.model = nn.parallel.DistributedDataParallel(
                self.unwrapped, device_ids=[self.dist.local_rank] if self.dist.device.type == "cuda" else None
            )
        loader = self._loader()
        if self.dist.is_main:
            self.cfg.dump(self.work_dir / "config.py")
        bad_samples = BadSamples(len(self.train_set), self.cfg.data.max_bad_fraction, self.logger)
        self.logger.info(
            f"training {self.cfg.name}: {len(self.train_set)} train / {len(self.val_set)} val images, "
            f"{self.max_iters} iterations of batch {self.cfg.data.batch_size} x {self.dist.world_size} "
            f"process(es) on {self.dist.device}, work dir {self.work_dir}"
        )
        result = TrainResult(iteration=self.iteration, work_dir=self.work_dir, best=self.best)
        with _StopSignals() as stop:
            for hook in self.hooks:
                hook.before_train(self)
            try:
                for batch, skipped in iter_batches(loader):
                    bad_samples.update(skipped)
                    self.run_step(batch)
                    self.iteration += 1
                    received = stop.received is not None
                    self.stopping = broadcast_flag(received) if self.dist.distributed else received
                    for hook in self.hooks:
                        hook.after_step(self)
                    if self.stopping:
                        result.interrupted = True
                        self.logger.warning(
                            f"stopped by {stop.received or 'a signal on another process'} at iteration "
                            f"{self.iteration}; checkpoint saved, continue with --resume"
                        )
                        break
            finally:
                for hook in self.hooks:
                    hook.after_train(self)
        result.iteration, result.best, result.metrics = self.iteration, self.best, self.metrics
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

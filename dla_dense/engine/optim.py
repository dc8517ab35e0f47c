"""Optimizers and per-iteration learning-rate schedules (poly / step / constant, linear warmup)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..config import OptimConfig


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """SGD (momentum, optional Nesterov), Adam or AdamW over the trainable ``params``."""
    params = [p for p in params if p.requires_grad]
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    cls = torch.optim.Adam if cfg.name == "adam" else torch.optim.AdamW
    return cls(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def lr_factor(iteration: int, cfg: OptimConfig, max_iters: int) -> float:
    """Multiplier of the base learning rate at ``iteration`` (0-based)."""
    if cfg.schedule == "poly":
        progress = min(iteration, max_iters) / max(1, max_iters)
        factor = (1.0 - progress) ** cfg.power
        factor = cfg.min_lr / cfg.lr + (1.0 - cfg.min_lr / cfg.lr) * factor if cfg.lr > 0 else factor
    elif cfg.schedule == "step":
        factor = cfg.gamma ** sum(iteration >= s for s in cfg.steps)
    else:
        factor = 1.0
    if iteration < cfg.warmup_iters:
        alpha = iteration / cfg.warmup_iters
        factor *= cfg.warmup_ratio + (1.0 - cfg.warmup_ratio) * alpha
    return factor


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: OptimConfig, max_iters: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` stepped once per iteration (its state dict holds only counters and base rates)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda iteration: lr_factor(iteration, cfg, max_iters))

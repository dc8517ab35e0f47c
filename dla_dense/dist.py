"""Process-group set-up for ``torchrun`` (DDP over NCCL on GPUs, gloo on CPU) and the one way results of several
processes are combined (:func:`gather_objects`, :func:`sum_tensor`), for the engine and every evaluator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist
from torch import nn

from .errors import DLADenseError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Whether this process logs, writes checkpoints and prints tables."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1


def resolve_device(device: str | None) -> torch.device:
    """``device`` as a torch device; None picks CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise DLADenseError(f"unknown device '{device}'; use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DLADenseError(f"device '{device}' requested but CUDA is not available; use --device cpu")
    return resolved


def init_distributed(device: str | None = None) -> DistInfo:
    """Join the ``torchrun`` process group when ``WORLD_SIZE`` > 1, else describe a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    base = resolve_device(device)
    if world_size <= 1:
        return DistInfo(device=base)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if base.type == "cuda":
        torch.cuda.set_device(local_rank)
        base = torch.device("cuda", local_rank)
    if not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if base.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=base)


def cleanup_distributed() -> None:
    """Leave the process group, if one was joined."""
    if _joined():
        tdist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op in a single process)."""
    if _joined():
        tdist.barrier()


def broadcast_flag(flag: bool) -> bool:
    """True on every rank when ``flag`` is True on any rank."""
    if not _joined():
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    tdist.all_reduce(value)
    return bool(value.item() > 0)


def average_gradients(module: nn.Module) -> None:
    """Average the gradients of ``module``'s parameters over the processes (for parameters trained outside
    DistributedDataParallel, such as a learned loss)."""
    world = tdist.get_world_size()
    for param in module.parameters():
        if param.grad is not None:
            tdist.all_reduce(param.grad)
            param.grad /= world


def _joined() -> bool:
    return tdist.is_available() and tdist.is_initialized()


def gather_objects(obj: Any) -> list[Any]:
    """``obj`` of every process, in rank order (``[obj]`` in a single process); every process must call it."""
    if not _joined() or tdist.get_world_size() == 1:
        return [obj]
    parts: list[Any] = [None] * tdist.get_world_size()
    tdist.all_gather_object(parts, obj)
    return parts


def sum_tensor(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` summed over the processes (itself in a single process; on the current CUDA device under NCCL,
    then back on ``tensor``'s device); every process must call it."""
    if not _joined():
        return tensor
    device = torch.device("cuda", torch.cuda.current_device()) if tdist.get_backend() == "nccl" else tensor.device
    total = tensor.to(device).clone()
    tdist.all_reduce(total)
    return total.to(tensor.device)

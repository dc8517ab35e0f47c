"""One benchmark run: the networks, their variants and both modes measured, as a JSON-able dict."""

from __future__ import annotations

import functools
import gc
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..analysis import count_macs, count_params
from ..dist import resolve_device
from ..errors import DLADenseError
from ..runtime import tune_malloc
from ..tasks import build_task
from ..tasks.parts import describe, probe
from ..weights import load_checkpoint
from .frames import measure_frames
from .measure import (
    ConvPeak,
    MemoryProbe,
    Session,
    _cpu_name,
    _infer_runner,
    _measure_mode,
    _train_runner,
    allocator_comparison,
    data_throughput,
)
from .variants import arch_name, build_arch, randomize_bn, resolve_target, select_variants

MODES = ("infer", "train", "frame")


def frozen_heap(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with the objects alive before it frozen (``gc.freeze``): the collections before each memory
    measurement then scan only what the benchmark creates, which keeps them short in a large process."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gc.collect()
        gc.freeze()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.unfreeze()

    return wrapper


@frozen_heap
def run_benchmark(
    target: str,
    *,
    overrides: Sequence[str] = (),
    modes: Sequence[str] | None = None,
    compare: Sequence[str] | None = None,
    infer_size: tuple[int, int] | None = None,
    infer_batch: int = 1,
    train_size: tuple[int, int] = (512, 512),
    train_batch: int = 2,
    iters: int = 10,
    warmup: int = 2,
    device: str | None = None,
    checkpoint: str | None = None,
    agreement_images: int = 8,
    data: bool = False,
    data_batches: int = 10,
    compare_allocator: bool = False,
    profile: bool = False,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark ``target`` (config file or model spec, see :func:`resolve_target`); returns a JSON-able dict.

    ``modes`` (None: the task's ``bench.modes``): ``"infer"`` (eval forward of the network's inputs
    ``[infer_batch, C, *infer_size]``, default the task's ``bench.input_size``), ``"train"`` (one optimizer
    step of the config's optimizer on the task's loss, batch ``[train_batch, 3, *train_size]`` of random inputs
    and targets) and, for trackers, ``"frame"`` (a video at ``infer_size`` through a Predictor stream per variant,
    pre-processing, network, decoding and tracker timed per frame; see :func:`~dla_dense.benchmark.frames.
    measure_frames`). ``compare``: variant names of
    :data:`VARIANTS` run against ``eager`` (None: eager only; empty: :data:`DEFAULT_COMPARE`). Each
    variant gets ``warmup`` untimed iterations, then ``iters`` timed rounds. ``checkpoint`` loads weights
    into the config's network; without it BatchNorm parameters are randomised (:func:`randomize_bn`). With a
    checkpoint, seg agreement is measured on the first ``agreement_images`` validation images.
    ``data`` adds the training input pipeline's throughput, ``compare_allocator`` the eager baseline with and
    without malloc tuning in subprocesses. ``profile`` gives each OpenVINO variant's row its per-layer times
    (``layers``: OpenVINO's counters, mean per call by layer type and kernel). Like the tools, this tunes the C
    allocator first (:func:`~dla_dense.runtime.tune_malloc`) and records whether it is active.
    """
    say = log or (lambda message: None)
    if iters < 1 or warmup < 0 or infer_batch < 1 or train_batch < 1:
        raise DLADenseError("iters, infer_batch and train_batch must be >= 1 and warmup >= 0")
    malloc_tuned = tune_malloc()
    cfg = resolve_target(target, overrides)
    task = build_task(cfg)
    modes = list(task.info.bench.modes if modes is None else modes)
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise DLADenseError(f"modes must be a non-empty subset of {', '.join(MODES)}, got {modes}")
    if "frame" in modes and "frame" not in task.info.bench.modes:
        raise DLADenseError(f"the frame mode is for tracking models; {task.name} models have infer and train")
    dev = resolve_device(device)
    variants = select_variants(task.name, compare)
    infer_size = tuple(infer_size or task.info.bench.input_size)
    for size in (infer_size, tuple(train_size)):
        if len(size) != 2 or size[0] % 32 or size[1] % 32 or min(size) < 32:
            raise DLADenseError(f"input size {size} must be (H, W), both positive multiples of 32")
    result: dict[str, Any] = {
        "target": target,
        "task": task.name,
        "model": f"{describe(task)}, {cfg.model.num_classes} classes",
        "weights": checkpoint or "random",
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "malloc_tuned": malloc_tuned,
    }
    memory = MemoryProbe(dev)
    result["memory_method"] = memory.method
    say("measuring the conv peak")
    conv_peak = ConvPeak(dev, bf16=any(v.bf16 for v in variants))

    generator = torch.Generator().manual_seed(seed)
    inputs = [x.to(dev) for x in probe(task).random_inputs(infer_batch, infer_size, generator).values()]
    bases: dict[str, nn.Module] = {}
    archs: dict[str, dict[str, Any]] = {}
    for arch in dict.fromkeys(v.arch for v in variants):
        say(f"building {arch_name(cfg, arch)}")
        torch.manual_seed(seed)
        model = build_arch(cfg, arch).to(dev)
        if checkpoint and arch == "dla":
            load_checkpoint(model, checkpoint)
            model.eval()
        else:
            randomize_bn(model, seed)
        bases[arch] = model
        info: dict[str, Any] = {"name": arch_name(cfg, arch), "params_m": count_params(model) / 1e6, "gflops": {}}
        if "infer" in modes:
            info["gflops"]["infer"] = 2 * count_macs(model, (3, *infer_size)) / 1e9
        if "train" in modes:
            info["gflops"]["train"] = 3 * 2 * count_macs(model, (3, *train_size)) / 1e9
        archs[arch] = info
    result["archs"] = archs

    session = Session(task, dev, iters, warmup, say, conv_peak, memory)
    if "infer" in modes:
        runners = [_infer_runner(bases[v.arch], v, inputs, dev, cfg, profile=profile) for v in variants]
        gflops = {a: info["gflops"]["infer"] for a, info in archs.items()}
        real = probe(task).agreement_inputs(agreement_images, dev) if checkpoint else None
        rows = _measure_mode("infer", runners, session, batch=infer_batch, gflops=gflops, agreement_images=real)
        result["infer"] = {"input": [infer_batch, 3, *infer_size], "iters": iters, "warmup": warmup, "variants": rows}
        del runners
    if "train" in modes:
        torch.manual_seed(seed)
        batch = probe(task).random_batch(train_batch, tuple(train_size), dev)
        runners = [_train_runner(bases[v.arch], v, batch, dev, cfg) for v in variants if v.engine == "torch"]
        gflops = {a: info["gflops"]["train"] for a, info in archs.items()}
        rows = _measure_mode("train", runners, session, batch=train_batch, gflops=gflops)
        result["train"] = {"input": [train_batch, 3, *train_size], "iters": iters, "warmup": warmup, "variants": rows}
        del runners
    if "frame" in modes:
        result["frame"] = measure_frames(session, cfg, bases, variants, size=infer_size, seed=seed, profile=profile)
    result["conv_peak_gflops"] = conv_peak.best
    for mode in (m for m in modes if m != "frame"):
        for row in result[mode]["variants"]:
            peak = None if row["settings"]["int8"] else conv_peak.best["bf16" if row["settings"]["bf16"] else "fp32"]
            row["peak_fraction"] = row["gflops_per_s"] / peak if peak else None  # no int8 peak is measured
    if data:
        say("measuring the training input pipeline")
        try:
            result["data"] = data_throughput(cfg, batches=data_batches, device=dev, seed=seed)
        except DLADenseError as e:
            result["data"] = {"error": str(e)}
    if compare_allocator:
        kwargs = {
            "target": target,
            "overrides": list(overrides),
            "modes": [m for m in modes if m != "frame"] or ["infer"],  # the allocator's effect on the network
            "infer_size": list(infer_size),
            "infer_batch": infer_batch,
            "train_size": list(train_size),
            "train_batch": train_batch,
            "iters": iters,
            "warmup": warmup,
            "device": str(dev),
            "checkpoint": checkpoint,
            "seed": seed,
        }
        result["allocator"] = allocator_comparison(kwargs, say)
    return result


def _child_main(argv: Sequence[str]) -> int:
    """``python -m dla_dense.benchmark KWARGS_JSON OUT_JSON``: one run for
    :func:`~dla_dense.benchmark.measure.allocator_comparison`."""
    kwargs, out = json.loads(argv[0]), Path(argv[1])
    for key in ("infer_size", "train_size"):
        kwargs[key] = tuple(kwargs[key])
    out.write_text(json.dumps(run_benchmark(**kwargs)))
    return 0

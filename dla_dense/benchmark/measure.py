"""The benchmark's measurements: paired round-robin timing, peak memory, the convolution peak, agreement, the
input pipeline and the allocator comparison (fresh processes)."""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import dataclasses
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

from ..config import Config
from ..engine.optim import build_optimizer
from ..engine.sampling import before_workers, default_num_workers, worker_init
from ..errors import DLADenseError
from ..export import export_outputs
from ..inference.engines import EngineModel
from ..inference.fast import bf16_autocast, prepare_for_inference
from ..runtime import MALLOC_ENV
from ..tasks import Task, build_task
from ..tasks.parts import probe
from .variants import Variant, _arch_config, variant_label

#: Peak memory is the median of this many measured calls per variant.
MEMORY_ROUNDS = 3


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "cpu"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(call: Callable[[], Any], device: torch.device) -> tuple[float, Any]:
    _sync(device)
    start = time.perf_counter()
    out = call()
    _sync(device)
    return time.perf_counter() - start, out


class MemoryProbe:
    """Peak memory growth of one call, in MB.

    CUDA: ``torch.cuda.max_memory_allocated`` above the memory allocated before. CPU on Linux: free heap
    pages are returned first (glibc ``malloc_trim``), the peak RSS is reset (``5`` to
    ``/proc/self/clear_refs``) and the growth of ``VmHWM`` over the RSS before is reported, so the figure
    does not depend on what earlier calls left in the allocator. Elsewhere: growth of ``ru_maxrss``, the
    process's lifetime peak, which shows only calls that exceed every earlier one.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._trim = None
        if device.type == "cuda":
            self.method = "cuda max_memory_allocated"
            return
        self.method = "ru_maxrss"
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._status()
            self.method = "VmHWM"
        except (OSError, KeyError):
            return
        if platform.libc_ver()[0] == "glibc":
            with contextlib.suppress(OSError, AttributeError):
                self._trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim

    @staticmethod
    def _status() -> dict[str, int]:
        fields = {}
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
        return {"VmRSS": fields["VmRSS"], "VmHWM": fields["VmHWM"]}

    def measure(self, call: Callable[[], Any]) -> float:
        """Peak memory growth (MB) while ``call()`` runs."""
        gc.collect()
        if self.method.startswith("cuda"):
            _sync(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
            call()
            _sync(self.device)
            return (torch.cuda.max_memory_allocated(self.device) - base) / 2**20
        if self.method == "VmHWM":
            if self._trim is not None:
                self._trim(0)
            Path("/proc/self/clear_refs").write_text("5")
            base = self._status()["VmRSS"]
            call()
            return max(0, self._status()["VmHWM"] - base) / 2**20
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        call()
        return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024


class ConvPeak:
    """Best GFLOP/s of one large 3x3 convolution (256 -> 256 channels, channels-last) on ``device``.

    Input ``[1, 256, 64, 64]`` on a CPU and ``[16, 256, 128, 128]`` on a GPU, in fp32 and, with ``bf16``,
    under bf16 autocast. :meth:`sample` times it once more; the benchmark samples it in every round, so the
    best figure comes from the quietest moment of the run. This is what the ``% peak`` column divides by.
    """

    def __init__(self, device: torch.device, *, bf16: bool = False, repeats: int = 3) -> None:
        self.device = device
        batch, size = (16, 128) if device.type == "cuda" else (1, 64)
        self.conv = nn.Conv2d(256, 256, 3, padding=1, bias=False).to(device, memory_format=torch.channels_last)
        self.conv.eval()
        self.x = torch.randn(batch, 256, size, size, device=device).contiguous(memory_format=torch.channels_last)
        self.flops = 2 * 256 * 256 * 9 * batch * size * size
        self.best = {"fp32": 0.0, **({"bf16": 0.0} if bf16 else {})}
        for dtype in self.best:
            self._call(dtype)
        for _ in range(repeats):
            self.sample()

    @torch.no_grad()
    def _call(self, dtype: str) -> torch.Tensor:
        with bf16_autocast(self.device, dtype == "bf16"):
            return self.conv(self.x)

    def sample(self) -> None:
        """Time the convolution once per dtype and keep the best GFLOP/s."""
        for dtype in self.best:
            seconds = _timed(lambda d=dtype: self._call(d), self.device)[0]
            self.best[dtype] = max(self.best[dtype], self.flops / seconds / 1e9)


def _agreement(task: Task, runner: _Runner, reference: _Runner, images: Sequence[torch.Tensor] | None) -> dict:
    """How closely ``runner`` matches ``reference`` (the task's ``agreement``): on its own benchmark input, or
    over ``images``."""
    pairs = (
        [(runner.call(), reference.call())]
        if images is None
        else [(runner.predict((x,)), reference.predict((x,))) for x in images]
    )
    on = "benchmark input" if images is None else f"{len(images)} validation image(s)"
    return {**probe(task).agreement(pairs), "on": on}


def _stats(values: Sequence[float]) -> dict[str, float]:
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"median": med, "q1": q1, "q3": q3, "min": min(values), "max": max(values)}


def timing_row(label: str, variant: Variant, seconds: Sequence[float], base: Sequence[float]) -> dict[str, Any]:
    """The timing fields of a variant's row: its name and settings, the quartiles of ``seconds`` and every time in
    milliseconds, and the ratios ``base / seconds`` (paired, round by round) with their quartiles."""
    ratios = [b / t for b, t in zip(base, seconds, strict=True)]
    return {
        "variant": label,
        "arch": variant.arch,
        "settings": dataclasses.asdict(variant),
        "ms": {k: s * 1000 for k, s in _stats(seconds).items()},
        "times_ms": [t * 1000 for t in seconds],
        "speedup": _stats(ratios),
        "ratios": ratios,
    }


@dataclass
class _Runner:
    variant: Variant
    call: Callable[[], Any]
    label: str
    predict: Callable[[Sequence[torch.Tensor]], Any] | None = None  # inference on other inputs, for agreement
    engine: EngineModel | None = None  # the engine running an export, whose layer profile the row reports


def _round_robin(
    runners: list[_Runner], iters: int, device: torch.device, conv_peak: ConvPeak
) -> dict[str, list[float]]:
    """``iters`` rounds; round r runs every runner once, starting with runner ``r % len(runners)``, then
    samples the convolution peak."""
    times: dict[str, list[float]] = {r.label: [] for r in runners}
    for r in range(iters):
        shift = r % len(runners)
        for runner in runners[shift:] + runners[:shift]:
            times[runner.label].append(_timed(runner.call, device)[0])
        conv_peak.sample()
    return times


def _infer_runner(
    base: nn.Module,
    variant: Variant,
    inputs: Sequence[torch.Tensor],
    device: torch.device,
    cfg: Config,
    *,
    profile: bool = False,
) -> _Runner:
    """``variant`` of ``base`` called on ``inputs`` (the network's inputs in argument order); ``profile``: an
    OpenVINO variant gathers its per-layer times."""
    if variant.engine != "torch":
        return _engine_runner(base, variant, inputs, cfg, profile=profile and variant.engine == "openvino")
    changes_model = variant.fuse or variant.channels_last or variant.compile or variant.bf16
    model = copy.deepcopy(base) if changes_model else base
    model = prepare_for_inference(
        model, fuse=variant.fuse, channels_last=variant.channels_last, compile=variant.compile, bf16=variant.bf16
    )

    def prepared(xs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [x.contiguous(memory_format=torch.channels_last) if variant.channels_last else x for x in xs]

    def predict(xs: Sequence[torch.Tensor]) -> Any:
        with torch.no_grad(), bf16_autocast(device, variant.bf16):
            return model(*xs)

    inp = prepared(inputs)
    return _Runner(variant, lambda: predict(inp), variant_label(variant, cfg), lambda xs: predict(prepared(xs)))


def _engine_runner(
    base: nn.Module, variant: Variant, inputs: Sequence[torch.Tensor], cfg: Config, *, profile: bool = False
) -> _Runner:
    """The network exported once for the inputs' shape and run by onnxruntime or OpenVINO (int8: calibrated on
    eight perturbed copies of ``inputs``; ``profile``: OpenVINO's per-layer counters on)."""
    module, names, as_dict = export_outputs(copy.deepcopy(base).eval())
    engine = EngineModel(
        module, names, variant.engine, as_dict=as_dict, bf16=variant.bf16, int8=variant.int8, profile=profile
    )
    if variant.int8:
        generator = torch.Generator().manual_seed(0)
        engine.calibration[tuple(inputs[0].shape)] = [
            {
                name: (x + 0.1 * torch.randn(x.shape, generator=generator)).contiguous().numpy()
                for name, x in zip(engine.inputs, inputs, strict=True)
            }
            for _ in range(8)
        ]

    def predict(xs: Sequence[torch.Tensor]) -> Any:
        return engine(*xs)

    return _Runner(variant, lambda: predict(inputs), variant_label(variant, cfg), predict, engine)


#: The identity classifier's size in a training step of a model with an embedding head (random data).
BENCHMARK_IDENTITIES = 500


def _train_runner(
    base: nn.Module, variant: Variant, batch: dict[str, torch.Tensor], device: torch.device, cfg: Config
) -> _Runner:
    task = build_task(_arch_config(cfg, variant.arch))
    model = copy.deepcopy(base).train()
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
        batch = {**batch, "image": batch["image"].contiguous(memory_format=torch.channels_last)}
    criterion = task.build_criterion(identities=BENCHMARK_IDENTITIES)
    learned = list(criterion.to(device).parameters()) if criterion is not None else []
    optimizer = build_optimizer([*model.parameters(), *learned], cfg.optim)
    forward = torch.compile(model) if variant.compile else model

    def call() -> torch.Tensor:
        with bf16_autocast(device, variant.bf16):
            loss = task.total_loss(task.loss(forward, batch, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return _Runner(variant, call, variant_label(variant, cfg))


@dataclass(frozen=True)
class Session:
    """What the measurements of one benchmark run share: the task, the device, ``warmup`` untimed and ``iters``
    timed rounds per variant, the progress log, the conv peak and the memory probe."""

    task: Task
    device: torch.device
    iters: int
    warmup: int
    log: Callable[[str], None]
    conv_peak: ConvPeak
    memory: MemoryProbe


def _measure_mode(
    mode: str,
    runners: list[_Runner],
    session: Session,
    *,
    batch: int,
    gflops: dict[str, float],
    agreement_images: Sequence[torch.Tensor] | None = None,
) -> list[dict[str, Any]]:
    """Warm up, check agreement (infer; on ``agreement_images`` when given), time round-robin, then measure peak
    memory of each runner (median of :data:`MEMORY_ROUNDS` round-robin rounds).

    ``gflops[arch]`` is the work of one image per iteration (forward, or forward + backward for training).
    """
    device, log = session.device, session.log
    warm = {}
    for runner in runners:
        log(f"{mode}: warming up {runner.label}")
        start = time.perf_counter()
        for _ in range(session.warmup):
            _timed(runner.call, device)
        warm[runner.label] = time.perf_counter() - start
    agreement: dict[str, dict[str, Any]] = {}
    if mode == "infer":
        for runner in runners[1:]:
            if runner.variant.arch == "dla":
                agreement[runner.label] = _agreement(session.task, runner, runners[0], agreement_images)
    log(f"{mode}: timing {len(runners)} variant(s), {session.iters} round(s)")
    for runner in runners:
        if runner.engine is not None:
            runner.engine.reset_profile()
    times = _round_robin(runners, session.iters, device, session.conv_peak)
    base_times = times[runners[0].label]
    rows = []
    for runner in runners:
        v = runner.variant
        median = statistics.median(times[runner.label])
        rows.append(
            {
                **timing_row(runner.label, v, times[runner.label], base_times),
                "images_per_s": batch / median,
                "warmup_s": warm[runner.label],
                "gflops_per_s": gflops[v.arch] * batch / median,
                "agreement": agreement.get(runner.label),
                "layers": runner.engine.layer_profile() if runner.engine is not None else [],
            }
        )
    log(f"{mode}: measuring peak memory")
    peaks: dict[str, list[float]] = {runner.label: [] for runner in runners}
    for _ in range(MEMORY_ROUNDS):  # round-robin like the timing: what one variant leaves in the heap varies
        for runner in runners:
            peaks[runner.label].append(session.memory.measure(runner.call))
    for runner, row in zip(runners, rows, strict=True):
        row["peak_mem_samples_mb"] = peaks[runner.label]
        row["peak_mem_mb"] = statistics.median(peaks[runner.label])
    base_mem = rows[0]["peak_mem_mb"]
    for row in rows:
        row["peak_mem_ratio"] = row["peak_mem_mb"] / base_mem if base_mem else None
    return rows


def data_throughput(cfg: Config, *, batches: int, device: torch.device, seed: int = 0) -> dict[str, Any]:
    """Samples/s of the config's training input pipeline: the task's train dataset (decoding, augmentation,
    targets) through a DataLoader with ``data.batch_size`` and the workers ``train_*.py`` would use.

    Samples are drawn at random with replacement. Writes the synthetic demo data first when the config asks
    for it. The first batch (worker start-up) is timed separately as ``startup_s``; ``samples_per_s`` covers
    the next ``batches`` batches.
    """
    task = build_task(cfg)
    task.prepare()
    train_set = task.train_set()
    d = cfg.data
    workers = d.num_workers if d.num_workers is not None else default_num_workers(1, device)
    before_workers(workers)
    sampler = RandomSampler(
        train_set,
        replacement=True,
        num_samples=(batches + 1) * d.batch_size,
        generator=torch.Generator().manual_seed(seed),
    )
    loader = DataLoader(
        train_set,
        batch_size=d.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        worker_init_fn=worker_init,
    )
    start = time.perf_counter()
    it = iter(loader)
    next(it)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    samples = sum(len(batch["image"]) for batch in it)
    elapsed = time.perf_counter() - start
    return {
        "samples_per_s": samples / elapsed,
        "startup_s": startup,
        "batches": batches,
        "batch_size": d.batch_size,
        "workers": workers,
        "crop_size": list(d.crop_size),
    }


def allocator_comparison(kwargs: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The eager baseline of ``run_benchmark(**kwargs)`` in two fresh processes, with and without
    :func:`~dla_dense.runtime.tune_malloc` (``DLA_DENSE_MALLOC=1`` / ``0``); ratios are off / on."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for setting in ("1", "0"):
            log(f"allocator: eager baseline with {MALLOC_ENV}={setting} in a subprocess")
            out = Path(tmp) / f"malloc{setting}.json"
            env = dict(os.environ, **{MALLOC_ENV: setting})
            proc = subprocess.run(
                [sys.executable, "-m", "dla_dense.benchmark", json.dumps(kwargs), str(out)],
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise DLADenseError(f"the {MALLOC_ENV}={setting} run failed: {proc.stderr.strip()[-500:]}")
            results[setting] = json.loads(out.read_text())
    summary: dict[str, Any] = {"tuned": results["1"]["malloc_tuned"], "untuned": results["0"]["malloc_tuned"]}
    for mode in kwargs["modes"]:
        on, off = results["1"][mode]["variants"][0], results["0"][mode]["variants"][0]
        summary[mode] = {
            "ms_tuned": on["ms"]["median"],
            "ms_untuned": off["ms"]["median"],
            "speedup": off["ms"]["median"] / on["ms"]["median"],
            "peak_mem_mb_tuned": on["peak_mem_mb"],
            "peak_mem_mb_untuned": off["peak_mem_mb"],
        }
    return summary

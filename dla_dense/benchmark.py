"""Throughput, peak memory and compute efficiency of the dense-prediction models, with variants compared.

:func:`run_benchmark` measures a config file (``configs/*.py``) or a model spec (``seg:dla34``,
``det:dla34:dcn``): eval forward passes (``no_grad``) and training steps (forward, the task's loss,
backward, optimizer step) after warm-up. Variants (:data:`VARIANTS`) run round-robin in the same process,
one iteration each per round, so machine noise hits all of them alike, and every variant's time is divided
into the baseline's time of the same round (paired ratios). :func:`format_report` renders the result as
plain text tables; ``tools/benchmark.py`` is the command line.
"""

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

from .analysis import count_macs, count_params
from .backbones import check_model_name
from .checkpoint import load_checkpoint
from .config import Config, ModelConfig, load_config
from .data.centernet_targets import centernet_targets
from .det_task import DOWN_RATIO
from .engine.dist import resolve_device
from .engine.optim import build_optimizer
from .engine.sampling import before_workers, default_num_workers, worker_init
from .errors import DLADenseError
from .inference.fast import bf16_autocast, prepare_for_inference
from .runtime import MALLOC_ENV, tune_malloc
from .tasks import build_model, build_task

MODES = ("infer", "train")
DEFAULT_INFER_SIZE = {"seg": (512, 1024), "det": (512, 512)}
DEFAULT_NUM_CLASSES = {"seg": 19, "det": 80}
#: Peak memory is the median of this many measured calls per variant.
MEMORY_ROUNDS = 3


@dataclass(frozen=True)
class Variant:
    """One way of running a network: which network (``arch``) and which speed-ups.

    ``arch`` is ``"dla"`` (the config's model), ``"node"`` (the detector with the other node type),
    ``"smp-unet"`` or ``"smp-fpn"`` (segmentation_models_pytorch on timm's DLA encoder). ``fuse`` (BatchNorm
    folding) applies to inference only; ``channels_last``, ``bf16`` (autocast) and ``compile`` to both modes.
    """

    name: str
    arch: str = "dla"
    fuse: bool = False
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False


#: Every variant ``--compare`` accepts; ``eager`` (plain fp32, NCHW) is the baseline and always runs first.
VARIANTS: dict[str, Variant] = {
    "eager": Variant("eager"),
    "fast": Variant("fast", fuse=True, channels_last=True),
    "bf16": Variant("bf16", fuse=True, channels_last=True, bf16=True),
    "compile": Variant("compile", fuse=True, channels_last=True, compile=True),
    "node": Variant("node", arch="node"),
    "smp-unet": Variant("smp-unet", arch="smp-unet"),
    "smp-fpn": Variant("smp-fpn", arch="smp-fpn"),
}
#: What a bare ``--compare`` runs per task (``compile`` is left out: its warm-up takes minutes on a CPU).
DEFAULT_COMPARE = {"seg": ("fast", "bf16", "smp-unet", "smp-fpn"), "det": ("fast", "bf16", "node")}
TASK_ONLY = {"node": "det", "smp-unet": "seg", "smp-fpn": "seg"}


def resolve_target(target: str, overrides: Sequence[str] = ()) -> Config:
    """The config of ``target``: a config file (with ``section.key=value`` overrides) or a model spec.

    A spec is ``seg:BACKBONE`` or ``det:BACKBONE[:NODE]`` (e.g. ``det:dla34:conv``) with the default
    config otherwise (19 classes for seg, 80 for det). Weights are random (``pretrained=False``) either way:
    they do not change the speed, and the benchmark runs offline.
    """
    if target.endswith(".py") or Path(target).is_file():
        cfg = load_config(target, overrides)
    else:
        if overrides:
            raise DLADenseError("--cfg-options needs a config file; a model spec has no config to override")
        parts = target.split(":")
        if len(parts) not in (2, 3) or parts[0] not in DEFAULT_NUM_CLASSES or (len(parts) == 3 and parts[0] != "det"):
            raise DLADenseError(
                f"'{target}' is neither a config file nor a model spec; use e.g. configs/demo_dla34.py, "
                "seg:dla34 or det:dla34:dcn"
            )
        check_model_name(parts[1])
        node = parts[2] if len(parts) == 3 else "dcn"
        if node not in ("dcn", "conv"):
            raise DLADenseError(f"unknown node '{node}' in '{target}'; use dcn or conv")
        model = ModelConfig(task=parts[0], backbone=parts[1], num_classes=DEFAULT_NUM_CLASSES[parts[0]], node=node)
        cfg = Config(model=model, name=target)
    if cfg.model.task not in DEFAULT_NUM_CLASSES:
        raise DLADenseError(f"'{target}' is a {cfg.model.task} config; the benchmark covers seg and det models")
    cfg.model.pretrained = False
    return cfg


def select_variants(task: str, compare: Sequence[str] | None) -> list[Variant]:
    """``eager`` followed by the ``compare`` variants (None: eager alone, empty: :data:`DEFAULT_COMPARE`)."""
    names = [] if compare is None else list(compare) or list(DEFAULT_COMPARE[task])
    chosen = [VARIANTS["eager"]]
    for name in names:
        if name not in VARIANTS:
            raise DLADenseError(f"unknown variant '{name}'; choose from {', '.join(VARIANTS)}")
        if TASK_ONLY.get(name, task) != task:
            raise DLADenseError(f"variant '{name}' is for {TASK_ONLY[name]} models, not {task}")
        if VARIANTS[name] not in chosen:
            chosen.append(VARIANTS[name])
    return chosen


def _other_node(cfg: Config) -> str:
    return "conv" if cfg.model.node == "dcn" else "dcn"


def variant_label(variant: Variant, cfg: Config) -> str:
    """The name shown for ``variant``: ``node`` becomes ``node=conv`` or ``node=dcn``."""
    return f"node={_other_node(cfg)}" if variant.arch == "node" else variant.name


def arch_name(cfg: Config, arch: str) -> str:
    """A short description of the network of ``arch``, e.g. ``DLASeg dla34`` or ``CenterNet dla34 node=conv``."""
    m = cfg.model
    if arch == "dla":
        return f"DLASeg {m.backbone}" if m.task == "seg" else f"CenterNet {m.backbone} node={m.node}"
    if arch == "node":
        return f"CenterNet {m.backbone} node={_other_node(cfg)}"
    return f"{arch} tu-{m.backbone}"


def build_arch(cfg: Config, arch: str) -> nn.Module:
    """The network of ``arch`` (see :class:`Variant`) for ``cfg``, with random weights."""
    if arch == "dla":
        return build_model(cfg)
    if arch == "node":
        return build_model(dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, node=_other_node(cfg))))
    import segmentation_models_pytorch as smp

    cls = {"smp-unet": smp.Unet, "smp-fpn": smp.FPN}[arch]
    return cls(f"tu-{cfg.model.backbone}", encoder_weights=None, classes=cfg.model.num_classes)


@torch.no_grad()
def randomize_bn(model: nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm random (seeded) statistics and affine parameters, and put the model in eval mode.

    A fresh network has mean 0 / variance 1 statistics and unit scale, which makes BatchNorm folding a no-op;
    with these values folding changes every convolution. Running means ~ N(0, 0.2), variances and scales
    ~ U(0.5, 1.5), shifts ~ N(0, 0.2).
    """
    generator = torch.Generator().manual_seed(seed)
    for bn in model.modules():
        if isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.running_mean is not None:
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
            bn.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            if bn.affine:
                bn.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                bn.bias.copy_(torch.randn(n, generator=generator) * 0.2)
    model.eval()


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


def _seg_batch(cfg: Config, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
    labels = torch.randint(0, cfg.model.num_classes, (batch, *size))
    labels[:, :, : size[1] // 16] = cfg.data.ignore_index
    return {"image": torch.randn(batch, 3, *size).to(device), "label": labels.to(device)}


def _det_batch(cfg: Config, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
    out_h, out_w = size[0] // DOWN_RATIO, size[1] // DOWN_RATIO
    samples = []
    for _ in range(batch):
        n = 8
        xy = torch.rand(n, 2) * torch.tensor([out_w * 0.8, out_h * 0.8])
        wh = (torch.rand(n, 2) * 0.15 + 0.05) * torch.tensor([out_w, out_h])
        boxes = torch.cat([xy, xy + wh], dim=1)
        labels = torch.randint(0, cfg.model.num_classes, (n,))
        samples.append(
            centernet_targets(
                boxes,
                labels,
                output_size=(out_h, out_w),
                num_classes=cfg.model.num_classes,
                max_objs=cfg.data.max_objs,
                radius_mode=cfg.data.radius_mode,
            )
        )
    targets = {k: torch.stack([s[k] for s in samples]).to(device) for k in samples[0]}
    return {"image": torch.randn(batch, 3, *size).to(device), **targets}


def synthetic_batch(cfg: Config, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
    """A training batch for ``cfg``'s task: random images ``[B, 3, H, W]`` with random labels (seg) or
    CenterNet targets of 8 random boxes per image (det), on ``device``."""
    return (_det_batch if cfg.model.task == "det" else _seg_batch)(cfg, batch, size, device)


def _agreement(task: str, runner: _Runner, reference: _Runner, images: Sequence[torch.Tensor] | None) -> dict[str, Any]:
    """How closely ``runner`` matches ``reference``: on its own benchmark input, or over ``images``.

    seg: the share of pixels with the same argmax; det: the largest difference of the sigmoid heatmaps.
    """
    pairs = (
        [(runner.call(), reference.call())]
        if images is None
        else [(runner.predict(x), reference.predict(x)) for x in images]
    )
    on = "benchmark input" if images is None else f"{len(images)} validation image(s)"
    if task == "det":
        diff = max(float((o["hm"].float().sigmoid() - r["hm"].float().sigmoid()).abs().max()) for o, r in pairs)
        return {"hm_max_abs_diff": diff, "on": on}
    same = sum(int((o.argmax(1) == r.argmax(1)).sum()) for o, r in pairs)
    total = sum(r[:, 0].numel() for _, r in pairs)  # pixels: N x H x W of each output
    return {"argmax_agreement_pct": 100 * same / total, "on": on}


def validation_images(cfg: Config, count: int, device: torch.device) -> list[torch.Tensor]:
    """Up to ``count`` normalised images ``[1, 3, H, W]`` of ``cfg``'s segmentation validation set, cropped to
    multiples of 32 (for agreement on real images)."""
    task = build_task(cfg)
    task.prepare()
    dataset = task.val_set()
    images = []
    for i in range(min(count, len(dataset))):
        x = dataset[i]["image"]
        h, w = x.shape[-2] // 32 * 32, x.shape[-1] // 32 * 32
        if h and w:
            images.append(x[None, :, :h, :w].to(device))
    return images


def _stats(values: Sequence[float]) -> dict[str, float]:
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"median": med, "q1": q1, "q3": q3, "min": min(values), "max": max(values)}


@dataclass
class _Runner:
    variant: Variant
    call: Callable[[], Any]
    label: str
    predict: Callable[[torch.Tensor], Any] | None = None  # inference on other images, for agreement


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


def _infer_runner(base: nn.Module, variant: Variant, x: torch.Tensor, device: torch.device, cfg: Config) -> _Runner:
    changes_model = variant.fuse or variant.channels_last or variant.compile or variant.bf16
    model = copy.deepcopy(base) if changes_model else base
    model = prepare_for_inference(
        model, fuse=variant.fuse, channels_last=variant.channels_last, compile=variant.compile, bf16=variant.bf16
    )

    def prepared(images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if variant.channels_last else images

    def predict(images: torch.Tensor) -> Any:
        with torch.no_grad(), bf16_autocast(device, variant.bf16):
            return model(images)

    inp = prepared(x)
    return _Runner(variant, lambda: predict(inp), variant_label(variant, cfg), lambda images: predict(prepared(images)))


def _train_runner(
    base: nn.Module, variant: Variant, batch: dict[str, torch.Tensor], device: torch.device, cfg: Config
) -> _Runner:
    task = build_task(cfg)
    model = copy.deepcopy(base).train()
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
        batch = {**batch, "image": batch["image"].contiguous(memory_format=torch.channels_last)}
    optimizer = build_optimizer(model.parameters(), cfg.optim)
    forward = torch.compile(model) if variant.compile else model

    def call() -> torch.Tensor:
        with bf16_autocast(device, variant.bf16):
            loss = task.loss(forward, batch, device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return _Runner(variant, call, variant_label(variant, cfg))


def _measure_mode(
    mode: str,
    runners: list[_Runner],
    *,
    iters: int,
    warmup: int,
    batch: int,
    gflops: dict[str, float],
    conv_peak: ConvPeak,
    probe: MemoryProbe,
    device: torch.device,
    task: str,
    log: Callable[[str], None],
    agreement_images: Sequence[torch.Tensor] | None = None,
) -> list[dict[str, Any]]:
    """Warm up, check agreement (infer; on ``agreement_images`` when given), time round-robin, then measure peak
    memory of each runner (median of :data:`MEMORY_ROUNDS` round-robin rounds).

    ``gflops[arch]`` is the work of one image per iteration (forward, or forward + backward for training).
    """
    warm = {}
    for runner in runners:
        log(f"{mode}: warming up {runner.label}")
        start = time.perf_counter()
        for _ in range(warmup):
            _timed(runner.call, device)
        warm[runner.label] = time.perf_counter() - start
    agreement: dict[str, dict[str, Any]] = {}
    if mode == "infer":
        for runner in runners[1:]:
            if runner.variant.arch == "dla":
                agreement[runner.label] = _agreement(task, runner, runners[0], agreement_images)
    log(f"{mode}: timing {len(runners)} variant(s), {iters} round(s)")
    times = _round_robin(runners, iters, device, conv_peak)
    base_times = times[runners[0].label]
    rows = []
    for runner in runners:
        v = runner.variant
        ts = times[runner.label]
        ratios = [b / t for b, t in zip(base_times, ts, strict=True)]
        stats = _stats(ts)
        rows.append(
            {
                "variant": runner.label,
                "arch": v.arch,
                "settings": dataclasses.asdict(v),
                "ms": {k: s * 1000 for k, s in stats.items()},
                "times_ms": [t * 1000 for t in ts],
                "images_per_s": batch / stats["median"],
                "speedup": _stats(ratios),
                "ratios": ratios,
                "warmup_s": warm[runner.label],
                "gflops_per_s": gflops[v.arch] * batch / stats["median"],
                "agreement": agreement.get(runner.label),
            }
        )
    log(f"{mode}: measuring peak memory")
    peaks: dict[str, list[float]] = {runner.label: [] for runner in runners}
    for _ in range(MEMORY_ROUNDS):  # round-robin like the timing: what one variant leaves in the heap varies
        for runner in runners:
            peaks[runner.label].append(probe.measure(runner.call))
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


def run_benchmark(
    target: str,
    *,
    overrides: Sequence[str] = (),
    modes: Sequence[str] = MODES,
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
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Benchmark ``target`` (config file or model spec, see :func:`resolve_target`); returns a JSON-able dict.

    ``modes``: ``"infer"`` (eval forward of ``[infer_batch, 3, *infer_size]``, default 512x1024 for seg and
    512x512 for det) and/or ``"train"`` (one optimizer step of the config's optimizer on the task's loss,
    batch ``[train_batch, 3, *train_size]`` of random images and targets). ``compare``: variant names of
    :data:`VARIANTS` run against ``eager`` (None: eager only; empty: :data:`DEFAULT_COMPARE`). Each
    variant gets ``warmup`` untimed iterations, then ``iters`` timed rounds. ``checkpoint`` loads weights
    into the config's network; without it BatchNorm parameters are randomised (:func:`randomize_bn`). With a
    checkpoint, seg agreement is measured on the first ``agreement_images`` validation images.
    ``data`` adds the training input pipeline's throughput, ``compare_allocator`` the eager baseline with and
    without malloc tuning in subprocesses. Like the tools, this tunes the C allocator first
    (:func:`~dla_dense.runtime.tune_malloc`) and records whether it is active.
    """
    say = log or (lambda message: None)
    if iters < 1 or warmup < 0 or infer_batch < 1 or train_batch < 1:
        raise DLADenseError("iters, infer_batch and train_batch must be >= 1 and warmup >= 0")
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise DLADenseError(f"modes must be a non-empty subset of {', '.join(MODES)}, got {list(modes)}")
    malloc_tuned = tune_malloc()
    cfg = resolve_target(target, overrides)
    task = cfg.model.task
    dev = resolve_device(device)
    variants = select_variants(task, compare)
    infer_size = tuple(infer_size or DEFAULT_INFER_SIZE[task])
    for size in (infer_size, tuple(train_size)):
        if len(size) != 2 or size[0] % 32 or size[1] % 32 or min(size) < 32:
            raise DLADenseError(f"input size {size} must be (H, W), both positive multiples of 32")
    result: dict[str, Any] = {
        "target": target,
        "task": task,
        "model": f"{cfg.model.backbone}, {cfg.model.num_classes} classes"
        + (f", node={cfg.model.node}" if task == "det" else ""),
        "weights": checkpoint or "random",
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "malloc_tuned": malloc_tuned,
    }
    probe = MemoryProbe(dev)
    result["memory_method"] = probe.method
    say("measuring the conv peak")
    conv_peak = ConvPeak(dev, bf16=any(v.bf16 for v in variants))

    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(infer_batch, 3, *infer_size, generator=generator).to(dev)
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

    common = {
        "probe": probe,
        "conv_peak": conv_peak,
        "device": dev,
        "task": task,
        "log": say,
        "iters": iters,
        "warmup": warmup,
    }
    if "infer" in modes:
        runners = [_infer_runner(bases[v.arch], v, images, dev, cfg) for v in variants]
        gflops = {a: info["gflops"]["infer"] for a, info in archs.items()}
        real = validation_images(cfg, agreement_images, dev) if checkpoint and task == "seg" else None
        rows = _measure_mode("infer", runners, batch=infer_batch, gflops=gflops, agreement_images=real, **common)
        result["infer"] = {"input": [infer_batch, 3, *infer_size], "iters": iters, "warmup": warmup, "variants": rows}
        del runners
    if "train" in modes:
        torch.manual_seed(seed)
        batch = synthetic_batch(cfg, train_batch, tuple(train_size), dev)
        runners = [_train_runner(bases[v.arch], v, batch, dev, cfg) for v in variants]
        gflops = {a: info["gflops"]["train"] for a, info in archs.items()}
        rows = _measure_mode("train", runners, batch=train_batch, gflops=gflops, **common)
        result["train"] = {"input": [train_batch, 3, *train_size], "iters": iters, "warmup": warmup, "variants": rows}
        del runners
    result["conv_peak_gflops"] = conv_peak.best
    for mode in modes:
        for row in result[mode]["variants"]:
            row["peak_fraction"] = row["gflops_per_s"] / conv_peak.best["bf16" if row["settings"]["bf16"] else "fp32"]
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
            "modes": list(modes),
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


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(c) for c in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        for line in [header, *rows]
    )


def _fmt_agreement(agreement: dict[str, Any] | None) -> str:
    if not agreement:
        return "-"
    if "argmax_agreement_pct" in agreement:
        return f"{agreement['argmax_agreement_pct']:.3f}% argmax"
    return f"{agreement['hm_max_abs_diff']:.1e} max|dhm|"


def format_report(result: dict[str, Any]) -> str:
    """The result of :func:`run_benchmark` as plain aligned text tables."""
    peaks = result["conv_peak_gflops"]
    lines = [
        f"benchmark {result['target']} ({result['task']}: {result['model']}; weights {result['weights']})",
        f"device {result['device']} ({result['device_name']}, {result['threads']} threads), torch {result['torch']}, "
        f"malloc tuning {'on' if result['malloc_tuned'] else 'off'}, peak memory by {result['memory_method']}",
        "conv peak " + ", ".join(f"{v:.1f} GFLOP/s {k}" for k, v in peaks.items()),
    ]
    for info in result["archs"].values():
        flops = ", ".join(f"{g:.1f} GFLOPs {m}" for m, g in info["gflops"].items())
        lines.append(f"network {info['name']}: {info['params_m']:.2f} M params, {flops} per image")
    header = ["variant", "ms/iter", "IQR ms", "img/s", "vs eager", "peak MB", "GFLOP/s", "% peak", "agreement"]
    for mode, title in (("infer", "inference (eval, no_grad)"), ("train", "training step (fwd + loss + bwd + step)")):
        if mode not in result:
            continue
        section = result[mode]
        shape = "x".join(map(str, section["input"]))
        lines += ["", f"{title}, input {shape}, {section['iters']} round(s) after {section['warmup']} warm-up"]
        rows = []
        for row in section["variants"]:
            ms, sp = row["ms"], row["speedup"]
            rows.append(
                [
                    row["variant"],
                    f"{ms['median']:.1f}",
                    f"{ms['q1']:.1f}-{ms['q3']:.1f}",
                    f"{row['images_per_s']:.2f}",
                    f"{sp['median']:.2f}x",
                    f"{row['peak_mem_mb']:.0f}",
                    f"{row['gflops_per_s']:.1f}",
                    f"{100 * row['peak_fraction']:.0f}%" if row["peak_fraction"] else "-",
                    _fmt_agreement(row["agreement"]),
                ]
            )
        lines.append(_table(header, rows))
        measured_on = {row["agreement"]["on"] for row in result[mode]["variants"] if row.get("agreement")}
        if mode == "infer" and result["weights"] == "random" and measured_on:
            lines.append("agreement of random networks (BatchNorm randomised) is indicative only; use --checkpoint")
        elif mode == "infer" and measured_on:
            lines.append(f"agreement measured on {', '.join(sorted(measured_on))}")
    if "data" in result:
        d = result["data"]
        lines.append("")
        if "error" in d:
            lines.append(f"input pipeline: unavailable ({d['error']})")
        else:
            lines.append(
                f"input pipeline: {d['samples_per_s']:.1f} samples/s (batch {d['batch_size']}, {d['workers']} "
                f"worker(s), crop {d['crop_size'][0]}x{d['crop_size'][1]}, start-up {d['startup_s']:.1f} s)"
            )
    if "allocator" in result:
        a = result["allocator"]
        lines.append("")
        for mode in MODES:
            if mode in a:
                m = a[mode]
                lines.append(
                    f"malloc tuning, {mode} (eager, separate processes): {m['ms_tuned']:.1f} ms tuned vs "
                    f"{m['ms_untuned']:.1f} ms untuned = {m['speedup']:.2f}x; peak {m['peak_mem_mb_tuned']:.0f} vs "
                    f"{m['peak_mem_mb_untuned']:.0f} MB"
                )
    return "\n".join(lines)


def _child_main(argv: Sequence[str]) -> int:
    """``python -m dla_dense.benchmark KWARGS_JSON OUT_JSON``: one run for :func:`allocator_comparison`."""
    kwargs, out = json.loads(argv[0]), Path(argv[1])
    for key in ("infer_size", "train_size"):
        kwargs[key] = tuple(kwargs[key])
    out.write_text(json.dumps(run_benchmark(**kwargs)))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))

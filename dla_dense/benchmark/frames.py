"""The benchmark's ``frame`` mode: one video through a :class:`~dla_dense.Predictor` stream per variant, every
stage timed (pre-processing, the network, decoding, the tracker), frame by frame, round-robin with eager."""

from __future__ import annotations

import copy
import dataclasses
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..config import Config
from ..inference.engines import EngineModel
from ..inference.timing import STAGES, StageTimer
from ..predictor import Predictor
from ..tasks.parts import probe
from .measure import Session, timing_row
from .variants import Variant, _arch_config, variant_label

#: Frames of the video an int8 variant is calibrated on (before the timed video starts).
CALIBRATION_FRAMES = 8


def _predictor(
    cfg: Config, base: nn.Module, variant: Variant, device: torch.device, size: tuple[int, int]
) -> Predictor:
    """A Predictor running ``variant`` of ``base`` with test input ``size``."""
    arch_cfg = _arch_config(cfg, variant.arch)
    arch_cfg = dataclasses.replace(arch_cfg, evaluation=dataclasses.replace(arch_cfg.evaluation, input_size=size))
    return Predictor(
        arch_cfg,
        model=copy.deepcopy(base),
        device=device,
        fast=variant.fuse or variant.channels_last,
        bf16=variant.bf16,
        compile=variant.compile,
        backend=variant.engine,
        int8=variant.int8,
    )


def measure_frames(
    session: Session,
    cfg: Config,
    bases: dict[str, nn.Module],
    variants: Sequence[Variant],
    *,
    size: tuple[int, int],
    seed: int,
    profile: bool = False,
) -> dict[str, Any]:
    """Per-frame time of each variant on one video of ``warmup + iters`` frames at ``size`` (the task's
    :meth:`~dla_dense.tasks.parts.Probe.video`; the network input is ``size`` too).

    Frame i runs every variant once, starting with variant ``i % len(variants)``; the first ``warmup`` frames are
    not timed (exports are made and the tracks start there). Rows hold the per-frame time, the mean of each stage
    of :class:`~dla_dense.inference.timing.StageTimer` over the timed frames, the ratio to eager, paired frame by
    frame, the tracks output per frame and, with ``profile``, an OpenVINO variant's per-layer times (``layers``,
    as :meth:`~dla_dense.inference.engines.EngineModel.layer_profile`).
    """
    task, device, log, iters, warmup = session.task, session.device, session.log, session.iters, session.warmup
    chosen = [v for v in variants if v.arch in bases and v.arch in ("dla", "node")]
    video = probe(task).video(CALIBRATION_FRAMES + warmup + iters, size, seed)
    calibration, video = video[:CALIBRATION_FRAMES], video[CALIBRATION_FRAMES:]
    streams, predictors, profiled = {}, {}, {}
    for v in chosen:
        log(f"frame: preparing {variant_label(v, cfg)}")
        predictor = _predictor(cfg, bases[v.arch], v, device, size)
        if profile and v.engine == "openvino" and isinstance(predictor.model, EngineModel):
            predictor.model.profile = True
            profiled[v] = predictor.model
        if v.int8:
            predictor.calibrate(calibration, video=True)
        predictors[v], streams[v] = predictor, predictor.stream()
    log(f"frame: {len(chosen)} variant(s), {warmup} warm-up and {iters} timed frame(s)")
    times: dict[Variant, list[float]] = {v: [] for v in chosen}
    tracks: dict[Variant, int] = dict.fromkeys(chosen, 0)
    for i, frame in enumerate(video):
        if i == warmup:
            for predictor in predictors.values():
                predictor.timer = StageTimer()
            for engine in profiled.values():
                engine.reset_profile()
        shift = i % len(chosen)
        for v in chosen[shift:] + chosen[:shift]:
            start = time.perf_counter()
            result = streams[v](frame)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= warmup:
                times[v].append(time.perf_counter() - start)
                tracks[v] += len(result.track_ids)
    base_times = times[chosen[0]]
    rows = []
    for v in chosen:
        timer = predictors[v].timer
        rows.append(
            {
                **timing_row(variant_label(v, cfg), v, times[v], base_times),
                "fps": 1 / statistics.median(times[v]),
                "stages_ms": {stage: 1000 * timer.seconds[stage] / max(1, timer.images) for stage in STAGES},
                "tracks_per_frame": tracks[v] / iters,
                "layers": profiled[v].layer_profile() if v in profiled else [],
            }
        )
    return {"input": [1, 3, *size], "iters": iters, "warmup": warmup, "variants": rows}

"""The benchmark's result as plain aligned text tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


def _timing(row: dict[str, Any], per_s: float) -> list[str]:
    """The leading cells of a variant's row: its name, median and IQR milliseconds, rate, ratio to eager."""
    ms = row["ms"]
    median, iqr = f"{ms['median']:.1f}", f"{ms['q1']:.1f}-{ms['q3']:.1f}"
    return [row["variant"], median, iqr, f"{per_s:.2f}", f"{row['speedup']['median']:.2f}x"]


def _frame_table(section: dict[str, Any]) -> str:
    """The ``frame`` mode's table: time per frame, frames/s, the ratio to eager and where the time goes."""
    shape = "x".join(map(str, section["input"][2:]))
    title = (
        f"per frame of a video (Predictor stream: pre-process, network, decode, tracker), {shape} frames, "
        f"{section['iters']} frame(s) after {section['warmup']} warm-up"
    )
    header = ["variant", "ms/frame", "IQR ms", "frames/s", "vs eager", "pre ms", "network ms", "decode ms"]
    header += ["tracker ms", "tracks"]
    rows = []
    for row in section["variants"]:
        stages = (f"{row['stages_ms'][s]:.1f}" for s in ("preprocess", "inference", "postprocess", "tracking"))
        rows.append([*_timing(row, row["fps"]), *stages, f"{row['tracks_per_frame']:.1f}"])
    return title + "\n" + _table(header, rows)


#: Layer kinds listed per profiled variant (the slowest; the rest are summed in one line).
PROFILE_ROWS = 12


def _layer_tables(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Per profiled variant, OpenVINO's time per call by layer type and kernel, slowest first."""
    lines = []
    for row in rows:
        layers = row.get("layers") or []
        if not layers:
            continue
        shown, rest = layers[:PROFILE_ROWS], layers[PROFILE_ROWS:]
        cells = [
            [la["layer"], la["kernel"], str(la["layers"]), f"{la['ms']:.1f}", f"{100 * la['share']:.1f}%"]
            for la in shown
        ]
        if rest:
            count, ms, share = (sum(la[k] for la in rest) for k in ("layers", "ms", "share"))
            cells.append(["other", "-", str(count), f"{ms:.1f}", f"{100 * share:.1f}%"])
        total = sum(la["ms"] for la in layers)
        cells.append(["all layers", "-", str(sum(la["layers"] for la in layers)), f"{total:.1f}", "100.0%"])
        lines += ["", f"{row['variant']}: OpenVINO layers per call (its counters)"]
        lines.append(_table(["layer type", "kernel", "layers", "ms", "share"], cells))
    return lines


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
        lines.append(
            f"network {info['name']}: {info['params_m']:.2f} M params" + (f", {flops} per image" if flops else "")
        )
    header = ["variant", "ms/iter", "IQR ms", "img/s", "vs eager", "peak MB", "GFLOP/s", "% peak", "agreement"]
    for mode, title in (("infer", "inference (eval, no_grad)"), ("train", "training step (fwd + loss + bwd + step)")):
        if mode not in result:
            continue
        section = result[mode]
        shape = "x".join(map(str, section["input"]))
        lines += ["", f"{title}, input {shape}, {section['iters']} round(s) after {section['warmup']} warm-up"]
        rows = []
        for row in section["variants"]:
            rows.append(
                [
                    *_timing(row, row["images_per_s"]),
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
        lines += _layer_tables(section["variants"])
    if "frame" in result:
        lines += ["", _frame_table(result["frame"])]
        if result["weights"] == "random":
            lines.append("random weights: detections and tracks are not a real load; use --checkpoint for the tracker")
        lines += _layer_tables(result["frame"]["variants"])
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
        for mode in ("infer", "train"):
            if mode in a:
                m = a[mode]
                lines.append(
                    f"malloc tuning, {mode} (eager, separate processes): {m['ms_tuned']:.1f} ms tuned vs "
                    f"{m['ms_untuned']:.1f} ms untuned = {m['speedup']:.2f}x; peak {m['peak_mem_mb_tuned']:.0f} vs "
                    f"{m['peak_mem_mb_untuned']:.0f} MB"
                )
    return "\n".join(lines)

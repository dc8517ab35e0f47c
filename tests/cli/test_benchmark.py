"""tools/benchmark.py on tiny inputs: structure of the result, table and JSON (never timings)."""

import json
import statistics

import pytest
import torch
from support import write_tiny_config

from dla_dense.benchmark import MEMORY_ROUNDS, format_report, run_benchmark, select_variants
from dla_dense.cli.benchmark import main
from dla_dense.config import load_config
from dla_dense.errors import DLADenseError
from dla_dense.tasks import build_model

#: benchmark runs in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


def _check_rows(section: dict, names: list[str], iters: int) -> None:
    rows = section["variants"]
    assert [r["variant"] for r in rows] == names
    for row in rows:
        assert len(row["times_ms"]) == len(row["ratios"]) == iters
        assert all(t > 0 for t in row["times_ms"]) and row["ms"]["median"] > 0
        assert row["ms"]["min"] <= row["ms"]["q1"] <= row["ms"]["median"] <= row["ms"]["q3"] <= row["ms"]["max"]
        assert row["images_per_s"] > 0 and row["speedup"]["median"] > 0 and row["gflops_per_s"] > 0
        assert row["peak_fraction"] > 0 and row["peak_mem_mb"] >= 0
        assert len(row["peak_mem_samples_mb"]) == MEMORY_ROUNDS
        assert row["peak_mem_mb"] == statistics.median(row["peak_mem_samples_mb"])
    assert rows[0]["ratios"] == [1.0] * iters


def test_run_benchmark_seg_variants():
    result = run_benchmark(
        "seg:dla46_c",
        compare=["fast", "bf16", "smp-fpn"],
        infer_size=(64, 64),
        train_size=(64, 64),
        iters=2,
        warmup=1,
    )
    assert result["task"] == "seg" and isinstance(result["malloc_tuned"], bool)
    assert result["conv_peak_gflops"]["fp32"] > 0 and result["conv_peak_gflops"]["bf16"] > 0
    assert set(result["archs"]) == {"dla", "smp-fpn"}
    assert result["archs"]["dla"]["params_m"] > 1 and result["archs"]["dla"]["gflops"]["infer"] > 0
    names = ["eager", "fast", "bf16", "smp-fpn"]
    _check_rows(result["infer"], names, 2)
    _check_rows(result["train"], names, 2)
    agreement = {r["variant"]: r["agreement"] for r in result["infer"]["variants"]}
    assert agreement["eager"] is None and agreement["smp-fpn"] is None
    assert agreement["fast"]["argmax_agreement_pct"] > 99
    assert 0 < agreement["bf16"]["argmax_agreement_pct"] <= 100
    report = format_report(result)
    for text in ("ms/iter", "IQR ms", "img/s", "vs eager", "peak MB", "GFLOP/s", "% peak", "agreement", "smp-fpn"):
        assert text in report
    assert "inference" in report and "training step" in report


def test_variant_selection():
    assert [v.name for v in select_variants("seg", None)] == ["eager"]
    assert [v.name for v in select_variants("seg", [])] == ["eager", "fast", "bf16", "smp-unet", "smp-fpn"]
    assert [v.name for v in select_variants("det", [])] == ["eager", "fast", "bf16", "node"]
    with pytest.raises(DLADenseError, match="unknown variant"):
        select_variants("seg", ["turbo"])
    with pytest.raises(DLADenseError, match="seg models"):
        select_variants("det", ["smp-unet"])


def test_cli_det_config_json_data_and_allocator(tmp_path, capsys):
    config = tmp_path / "det.py"
    write_tiny_config(
        config, "det", tmp_path / "shapes", data=dict(synthetic=dict(num_train=4, num_val=2, size=(64, 64), seed=0))
    )
    out = tmp_path / "bench.json"
    argv = [str(config), "--compare", "fast", "node", "--input-size", "64", "64", "--train-size", "32", "32"]
    argv += ["--iters", "1", "--warmup", "0", "--data", "--data-batches", "2", "--compare-allocator"]
    assert main([*argv, "--device", "cpu", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    names = ["eager", "fast", "node=dcn"]
    _check_rows(data["infer"], names, 1)
    _check_rows(data["train"], names, 1)
    assert data["infer"]["input"] == [1, 3, 64, 64] and data["train"]["input"] == [2, 3, 32, 32]
    fast = data["infer"]["variants"][1]
    assert 0 <= fast["agreement"]["hm_max_abs_diff"] < 1e-3
    archs = data["archs"]  # the dcn twin adds offset/mask convolutions to the same products
    assert archs["node"]["gflops"]["infer"] > archs["dla"]["gflops"]["infer"]
    assert data["data"]["samples_per_s"] > 0 and data["data"]["workers"] == 0
    assert (tmp_path / "shapes" / "annotations").is_dir()
    allocator = data["allocator"]
    assert allocator["untuned"] is False
    for mode in ("infer", "train"):
        assert allocator[mode]["speedup"] > 0 and allocator[mode]["ms_untuned"] > 0
    for text in ("node=dcn", "max|dhm|", "input pipeline", "samples/s", "malloc tuning, infer"):
        assert text in printed


def test_cli_bad_target_is_one_line(capsys):
    assert main(["seg:dla35", "--iters", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "dla34" in err[0]


def test_checkpoint_agreement_is_measured_on_validation_images(tmp_path):
    config = tmp_path / "seg.py"
    write_tiny_config(
        config, "seg", tmp_path / "city", data=dict(synthetic=dict(num_train=2, num_val=3, size=(64, 128), seed=0))
    )
    model = build_model(load_config(str(config)))
    torch.save({"state_dict": model.state_dict()}, tmp_path / "model.pth")
    result = run_benchmark(
        str(config),
        modes=("infer",),
        compare=["fast", "bf16"],
        infer_size=(64, 64),
        iters=1,
        warmup=0,
        checkpoint=str(tmp_path / "model.pth"),
        agreement_images=2,
    )
    agreement = {r["variant"]: r["agreement"] for r in result["infer"]["variants"]}
    assert agreement["fast"] == {"argmax_agreement_pct": 100.0, "on": "2 validation image(s)"}
    assert agreement["bf16"]["on"] == "2 validation image(s)" and agreement["bf16"]["argmax_agreement_pct"] > 90
    assert "agreement measured on 2 validation image(s)" in format_report(result)


def test_pose_spec_runs_through_the_registry():
    result = run_benchmark(
        "pose:dla46_c", modes=("train",), compare=["node"], train_size=(64, 64), train_batch=1, iters=1, warmup=0
    )
    assert result["task"] == "pose" and result["model"].startswith("CenterNet multi_pose dla46_c node=dcn")
    _check_rows(result["train"], ["eager", "node=conv"], 1)


def test_engine_variants_time_inference_only_and_agree_with_eager():
    pytest.importorskip("openvino")
    result = run_benchmark(
        "det:dla46_c:conv",  # deformable nodes through both engines: tests/test_export.py
        compare=["openvino-int8"],  # onnxruntime: test_track_frame_mode_times_every_stage_of_a_stream
        infer_size=(64, 64),
        train_size=(64, 64),
        iters=2,
        warmup=1,
        profile=True,
    )
    assert [r["variant"] for r in result["infer"]["variants"]] == ["eager", "openvino-int8"]
    assert result["infer"]["variants"][-1]["peak_fraction"] is None
    assert [r["variant"] for r in result["train"]["variants"]] == ["eager"]
    for row in result["infer"]["variants"][1:]:
        assert row["ms"]["median"] > 0 and row["agreement"] is not None
    eager, int8 = result["infer"]["variants"]
    assert eager["layers"] == []  # PyTorch has no OpenVINO counters
    kinds = {layer["layer"]: layer for layer in int8["layers"]}
    assert "Convolution" in kinds and any("I8" in la["kernel"].upper() for la in int8["layers"])  # quantized convs
    assert sum(la["share"] for la in int8["layers"]) == pytest.approx(1.0)
    assert all(la["ms"] >= 0 and la["layers"] >= 1 for la in int8["layers"])
    assert sum(la["ms"] for la in int8["layers"]) < int8["ms"]["median"]  # per call, not summed over the rounds
    report = format_report(result)
    assert "openvino-int8: OpenVINO layers per call" in report and "Convolution" in report


def test_track_frame_mode_times_every_stage_of_a_stream(tmp_path):
    config = tmp_path / "track.py"
    write_tiny_config(config, "track", tmp_path / "mot")
    model = build_model(load_config(str(config)))
    with torch.no_grad():
        model.hm[-1].bias.fill_(4.0)  # every location scores high: the tracker gets a full load
    torch.save({"state_dict": model.state_dict()}, tmp_path / "model.pth")
    result = run_benchmark(
        str(config),
        modes=("infer", "frame"),
        compare=["ort"],  # int8 through OpenVINO: test_engine_variants_time_inference_only_and_agree_with_eager
        infer_size=(64, 96),
        iters=2,
        warmup=1,
        checkpoint=str(tmp_path / "model.pth"),
    )
    assert result["infer"]["input"] == [1, 3, 64, 96]
    engine = result["infer"]["variants"][1]  # the fused eager model's agreement: test_cli_det_config_json_...
    assert engine["variant"] == "ort" and engine["agreement"]["hm_max_abs_diff"] < 1e-3
    frame = result["frame"]
    assert frame["input"] == [1, 3, 64, 96] and frame["iters"] == 2
    rows = frame["variants"]
    assert [r["variant"] for r in rows] == ["eager", "ort"]
    assert rows[0]["speedup"]["median"] == 1.0
    for row in rows:
        assert len(row["times_ms"]) == 2 and row["fps"] > 0
        stages = row["stages_ms"]
        assert set(stages) == {"preprocess", "inference", "postprocess", "tracking"}
        assert all(v > 0 for v in stages.values())
        assert sum(stages.values()) <= 1.05 * max(row["times_ms"])
        assert row["tracks_per_frame"] > 0
    report = format_report(result)
    for text in ("per frame of a video", "frames/s", "tracker ms", "network ms", "ort"):
        assert text in report
    with pytest.raises(DLADenseError, match="frame mode is for tracking"):
        run_benchmark("det:dla46_c", modes=("frame",), iters=1, warmup=0)

"""A user's own module, named in a config's ``custom_imports``, adds a task with its own regression head without
editing dla_dense: the tools train, evaluate, predict with and export that model, and a shared model folder that
needs the module is refused until the user imports it."""

import json
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from support import run_main, write_tiny_config

from dla_dense.config import load_config
from dla_dense.config.schemas import TASK_SCHEMAS
from dla_dense.errors import DLADenseError
from dla_dense.tasks import TASKS

MODULE = "user_area_parts"

USER_MODULE = textwrap.dedent(
    '''
    """An object-size head and a detection task that trains it beside the box head."""

    from dataclasses import replace

    from dla_dense.heads import BoxHead, CenterNetHeads, RegressionHead
    from dla_dense.tasks import register_task
    from dla_dense.tasks.centernet import CenterNetTask, box_options
    from dla_dense.tasks.det import DetTask


    class AreaHead(RegressionHead):
        """``area [N, 1, H/4, W/4]``: the square root of each object's box area, map pixels."""

        fields = ("area",)
        output = "area"
        channels = 1
        default_weight = 0.1

        def encode(self, fields, targets, *, output_size):
            targets["area"] = targets["wh"].prod(1).clamp(min=0).sqrt()[:, None]
            targets["area_mask"] = targets["reg_mask"].float()[:, None]

        def decode(self, outputs, peaks, found):
            return {"area": self.gather(outputs, peaks)[..., 0]}


    @register_task
    class AreaDetTask(CenterNetTask):
        name = "area_det"
        info = replace(DetTask.info, title="a CenterNet detector with object sizes")
        metric = "AP"
        schemas = DetTask.schemas

        def heads(self, with_data=False):
            m = self.cfg.model
            box = BoxHead(m.num_classes, radius_mode=self.cfg.data.radius_mode, **box_options(self.cfg))
            return CenterNetHeads([box, AreaHead()])
    '''
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """The user's module beside the config; its registrations end with the test."""
    (tmp_path / f"{MODULE}.py").write_text(USER_MODULE)
    monkeypatch.setattr(TASKS, "_items", dict(TASKS._items))
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    sys.modules.pop(MODULE, None)
    TASK_SCHEMAS.pop("area_det", None)


@pytest.mark.slow  # trains, evaluates and exports through the tools
def test_a_users_task_and_head_train_evaluate_predict_and_export(user_module, tmp_path):
    pytest.importorskip("onnxruntime", minversion="1.25")
    config = write_tiny_config(tmp_path / "area.py", "det", model=dict(task="area_det"))
    config.write_text(config.read_text() + f"custom_imports = [{MODULE!r}]\n")
    work = tmp_path / "run"

    result = run_main("train", str(config), "--work-dir", str(work))
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    assert any("area_loss" in r for r in records) and any("AP" in r for r in records if r["mode"] == "val")
    assert f"custom_imports = ['{MODULE}']" in (work / "config.py").read_text()

    result = run_main("test", str(work / "config.py"), str(work / "best.pth"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith("AP ")

    image = tmp_path / "frame.png"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(image)
    out = tmp_path / "pictures"
    result = run_main("infer", str(config), str(work / "best.pth"), str(image), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "frame_boxes.jpg").is_file()

    ir = tmp_path / "model.xml"  # OpenVINO IR: the export tool's quickest format with named outputs
    result = run_main("export", str(config), str(work / "best.pth"), "--out", str(ir), "--input-size", "64", "64")
    assert result.returncode == 0, result.stderr[-3000:]
    from dla_dense.export import openvino_core

    names = [o.get_any_name() for o in openvino_core().read_model(str(ir)).outputs]
    assert names == ["hm", "wh", "reg", "area"]


def test_custom_imports_errors_are_one_line(tmp_path):
    config = write_tiny_config(tmp_path / "bad.py", "det")
    config.write_text(config.read_text() + "custom_imports = ['no_such_user_module']\n")
    with pytest.raises(DLADenseError, match="custom_imports cannot import 'no_such_user_module'"):
        load_config(config)
    config.write_text(config.read_text().replace("['no_such_user_module']", "'not-a-list'"))
    with pytest.raises(DLADenseError, match="must be a list of module names"):
        load_config(config)


def test_a_shared_config_runs_no_import(user_module, tmp_path):
    shared = tmp_path / "config.json"
    cfg = load_config(write_tiny_config(tmp_path / "area.py", "det"))
    shared.write_text(json.dumps({"name": "area", **cfg.to_dict(), "custom_imports": [MODULE]}))
    with pytest.raises(DLADenseError, match=f"needs the modules {MODULE}"):
        load_config(shared, run_imports=False)
    assert MODULE not in sys.modules
    assert load_config(shared).custom_imports == (MODULE,) and MODULE in sys.modules

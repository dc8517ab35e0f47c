from pathlib import Path

import pytest

from dla_dense import DLADenseError
from dla_dense.config import load_config
from dla_dense.tasks import TASKS

CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = sorted(CONFIGS_DIR.glob("*.py"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    cfg = load_config(path)
    assert cfg.name == path.stem


def test_synthetic_sets_of_different_kinds_have_their_own_folders():
    """Two configs may share a generated set only if they generate the same kind of set with the same options."""
    writers: dict[str, tuple] = {}
    for path in CONFIGS:
        cfg = load_config(path)
        if cfg.data.synthetic:
            writer = TASKS[cfg.model.task].info.synthetic.__qualname__  # track and fairmot share the video writer
            kind = (writer, cfg.data.dataset, sorted(cfg.data.synthetic.items()))
            other = writers.setdefault(cfg.data.root, (kind, path.name))
            assert other[0] == kind, f"{path.name} and {other[1]} both generate into {cfg.data.root}"


def _write(tmp_path: Path, text: str, name: str = "cfg.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_overrides_parse_literals_and_strings(tmp_path):
    path = _write(tmp_path, "model = dict(backbone='dla34', num_classes=9)\ndata = dict(crop_size=[64, 128])\n")
    cfg = load_config(path, ["optim.lr=0.5", "data.root=/data/x y", "data.scale_range=None", "train.amp=bf16"])
    assert cfg.optim.lr == 0.5 and cfg.data.root == "/data/x y" and cfg.data.scale_range is None
    assert cfg.data.crop_size == (64, 128) and cfg.train.amp == "bf16" and cfg.model.num_classes == 9


@pytest.mark.parametrize(
    "text, overrides, message",
    [
        ("optim = dict(lrr=0.1)\n", [], r"unknown key 'optim.lrr' \(did you mean 'lr'\?\)"),
        ("optimizer = dict(lr=0.1)\n", [], r"unknown section 'optimizer' \(did you mean 'optim'\?\)"),
        ("train = dict(max_iters=1.5)\n", [], r"train.max_iters=1.5 has the wrong type; expected int"),
        ("train = dict(amp='fp8')\n", [], r"train.amp='fp8' has the wrong type"),
        ("model = dict(backbone='dla34'\n", [], r"line \d+: .*fix the Python syntax"),
        ("model = dict()\n", ["model.backbon=dla60"], r"unknown key 'model.backbon' \(did you mean 'backbone'\?\)"),
        ("model = dict()\n", ["model.backbone"], r"not of the form section.key=value"),
        ("model = 3\n", [], r"section 'model' must be a dict"),
    ],
)
def test_mistakes_are_one_line_errors(tmp_path, text, overrides, message):
    with pytest.raises(DLADenseError, match=message) as err:
        load_config(_write(tmp_path, text), overrides)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DLADenseError, match="config file not found"):
        load_config(tmp_path / "nope.py")


def test_base_inheritance_merges_keys(tmp_path):
    _write(tmp_path, "model = dict(backbone='dla34', num_classes=19)\noptim = dict(lr=0.01, name='sgd')\n", "base.py")
    child = _write(tmp_path, "_base_ = 'base.py'\nmodel = dict(backbone='dla102')\n", "child.py")
    cfg = load_config(child)
    assert (cfg.model.backbone, cfg.model.num_classes, cfg.optim.lr) == ("dla102", 19, 0.01)


def test_dump_round_trips(tmp_path):
    cfg = load_config(CONFIGS[0], ["optim.lr=0.123"])
    again = load_config(cfg.dump(tmp_path / "resolved.py"))
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    "text, overrides, message",
    [
        ("", ["model.down_ratio=4"], None),
        (
            "model = dict(task='det')\ndata = dict(scale_range=(0.6, 1.4))\n",
            [],
            r"'data.scale_range' is now 'data.crop_scale_range' in det configs",
        ),
        (
            "model = dict(task='det')\n",
            ["data.color_jitter=0.4"],
            r"'data.color_jitter' is now 'data.color_aug' in det configs",
        ),
        (
            "model = dict(task='cls')\ndata = dict(scale_range=(0.08, 1.0))\n",
            [],
            r"'data.scale_range' is now 'data.area_range' in cls configs",
        ),
        ("model = dict(task='seg', node='dcn')\n", [], r"unknown key 'model.node' \(known: task, backbone"),
        ("model = dict(task='seg')\nevaluation = dict(max_dets=10)\n", [], r"unknown key 'evaluation.max_dets'"),
        ("model = dict(task='tracker')\n", [], r"'tracker' is not a task; use one of seg, det, cls, pose, track"),
        (
            "model = dict(task='det')\n",
            ["model.task=seg", "model.node=conv"],
            r"override 'model.node=conv': unknown key",
        ),
    ],
)
def test_each_task_validates_its_own_keys(tmp_path, text, overrides, message):
    path = CONFIGS_DIR / "demo_centernet_dla34.py" if message is None else _write(tmp_path, text)
    message = message or r"override 'model.down_ratio=4': unknown key 'model.down_ratio' \(known: task, backbone"
    with pytest.raises(DLADenseError, match=message) as err:
        load_config(path, overrides)
    assert "\n" not in str(err.value)


def test_each_key_has_one_meaning_per_task():
    det = load_config(CONFIGS_DIR / "demo_centernet_dla34.py")
    assert det.data.crop_scale_range == (0.6, 1.4) and det.data.color_aug is True
    cls = load_config(CONFIGS_DIR / "demo_cls_dla46_c.py")
    assert cls.data.area_range == (0.6, 1.0) and cls.data.color_jitter == 0.2
    seg = load_config(CONFIGS_DIR / "demo_dla34.py")
    assert seg.data.scale_range == (0.75, 1.5) and seg.data.color_jitter == 0.2
    assert not hasattr(det.data, "scale_range") and not hasattr(seg.model, "node")


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["optim.lr=-0.1"], r"optim.lr=-0.1 is out of range; must be >= 0"),
        (["data.batch_size=0"], r"data.batch_size=0 is out of range; must be >= 1"),
        (["train.checkpoint_interval=0"], r"train.checkpoint_interval=0 is out of range; must be >= 1"),
        (["train.max_iters=0"], r"train.max_iters=0 is out of range; must be >= 1"),
        (["train.log_interval=-5"], r"train.log_interval=-5 is out of range; must be >= 1"),
        (["data.max_bad_fraction=1.5"], r"data.max_bad_fraction=1.5 is out of range; must be in \[0, 1\]"),
        (["optim.momentum=2"], r"optim.momentum=2.0 is out of range; must be in \[0, 1\]"),
        (["data.crop_size=(100, 128)"], r"data.crop_size=\(100, 128\) is out of range; each value must be a positive"),
        (["data.scale_range=(0, 2)"], r"data.scale_range=\(0.0, 2.0\) is out of range; each value must be > 0"),
        (["model.num_classes=0"], r"model.num_classes=0 is out of range; must be >= 1"),
        (["model.down_ratio=3"], r"model.down_ratio=3 has the wrong type; expected Literal\[2, 4, 8\]"),
        (["data.std=(0.2, 0.0, 0.2)"], r"data.std=\(0.2, 0.0, 0.2\) is out of range; each value must be > 0"),
    ],
)
def test_numeric_values_out_of_range_are_one_line_errors(overrides, message):
    with pytest.raises(DLADenseError, match=message) as err:
        load_config(CONFIGS_DIR / "demo_dla34.py", overrides)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "config, override, message",
    [
        ("demo_centernet_dla34.py", "evaluation.nms_iou=1.5", r"evaluation.nms_iou=1.5 is out of range"),
        ("demo_centernet_dla34.py", "evaluation.input_size=(100, 100)", r"positive multiple of 32"),
        ("demo_centernet_dla34.py", "model.wh_weight=-1", r"model.wh_weight=-1.0 is out of range; must be >= 0"),
        ("demo_cls_dla46_c.py", "data.area_range=(0, 1)", r"data.area_range=\(0.0, 1.0\) is out of range"),
        ("demo_pose_dla34.py", "data.rotate_prob=1.5", r"data.rotate_prob=1.5 is out of range; must be in \[0, 1\]"),
        ("demo_centernet_dla34.py", "data.rotate=10", r"unknown key 'data.rotate'"),
    ],
)
def test_task_keys_have_ranges_too(config, override, message):
    with pytest.raises(DLADenseError, match=message):
        load_config(CONFIGS_DIR / config, [override])

"""tools/train.py and tools/test.py run every task's tiny config end to end; the task comes from the config
and adds its own test flags; the task-restricted tools refuse other tasks' configs."""

import json

import pytest
from support import TINY

from dla_dense.cli import test

#: end-to-end runs of the tools: the slow tier.
pytestmark = pytest.mark.slow

HEADLINE = {
    "seg": "mIoU ",
    "det": "AP ",
    "cls": "top1 ",
    "pose": "kp_AP ",
    "track": "HOTA ",
    "fairmot": "HOTA ",
    "ddd": "Car moderate R40: ",
    "track3d": "HOTA ",
}
TEST_FLAGS = {
    "seg": ["--tta"],
    "det": ["--flip"],
    "cls": [],
    "pose": ["--flip"],
    "track": ["--tracker", "byte"],
    "fairmot": ["--tracker", "byte"],
    "ddd": ["--loose"],
    "track3d": ["--tracker", "byte"],
}


def test_every_task_is_covered():
    assert set(HEADLINE) == set(TINY)


@pytest.mark.parametrize("task", list(TINY))
def test_train_then_test_any_task(task, trained_tiny, capsys):
    config, work = trained_tiny(task)
    records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    assert all("loss" in r and "lr" in r for r in records if r["mode"] == "train")
    assert (work / "best.pth").is_file() and (work / "config.py").is_file()

    capsys.readouterr()
    assert test.main([str(config), str(work / "best.pth"), "--device", "cpu", *TEST_FLAGS[task]]) == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith(HEADLINE[task]), err[-3000:]


@pytest.mark.parametrize("task", list(TINY))
def test_test_help_shows_the_tasks_own_flags(task, tiny_config, capsys):
    config = tiny_config(task)
    with pytest.raises(SystemExit) as done:
        test.main([str(config), "--help"])
    assert done.value.code in (0, None)
    shown = capsys.readouterr().out
    for flag in TEST_FLAGS[task]:
        assert flag in shown
    for other, flags in TEST_FLAGS.items():
        for flag in set(flags) - set(TEST_FLAGS[task]):
            assert flag not in shown, (other, flag)


@pytest.mark.parametrize(
    "command, config, found", [("train_det", "demo_dla34.py", "seg"), ("test_seg", "demo_cls_dla46_c.py", "cls")]
)
def test_task_restricted_tools_refuse_other_tasks(command, config, found, tool, repo_root):
    args = [f"configs/{config}"] + (["missing.pth"] if command.startswith("test") else [])
    result = tool(command, *args)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert f"is a '{found}' config; use tools/{command.split('_')[0]}_{found}.py" in line and "\n" not in line

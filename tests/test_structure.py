"""The package's layout rules: tasks are chosen in one place, models do not reach into inference."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dla_dense"


def _sources(folder: Path = PACKAGE):
    return sorted(folder.rglob("*.py"))


def test_no_task_switch_outside_the_task_registry():
    switch = re.compile(r"task ?(==|!=| in )")
    found = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in _sources()
        if "tasks" not in path.relative_to(PACKAGE).parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if switch.search(line)
    ]
    assert not found, found


def test_no_model_type_switch_outside_the_task_registry():
    found = [
        str(path.relative_to(PACKAGE))
        for path in _sources()
        if "tasks" not in path.relative_to(PACKAGE).parts
        and re.search(r"isinstance\([^)]*, *\(?(CenterNet|DLASeg)\b", path.read_text())
    ]
    assert not found, found


def test_models_do_not_import_inference():
    found = [
        str(p)
        for p in _sources(PACKAGE / "models")
        if re.search(r"from \.\.inference|dla_dense\.inference", p.read_text())
    ]
    assert not found, found

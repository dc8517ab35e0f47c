"""The package's layout rules: tasks are chosen in one place, models do not reach into inference."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dla_dense"


def _sources(folder: Path = PACKAGE):
    return sorted(folder.rglob("*.py"))


def test_no_task_switch_outside_the_task_registry():
    switch = re.compile(r"task ?(==|!=)|task in (?!TASKS)")
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


def test_one_openvino_core_per_process():
    """Every OpenVINO read and compile goes through ``dla_dense.export.openvino_core`` (several ``Core`` objects in
    one process can crash OpenVINO 2026)."""
    found = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in _sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bCore\(\)", line) and "return _openvino().Core()" not in line
    ]
    assert not found, found
    from dla_dense.export import openvino_core

    assert openvino_core() is openvino_core()


def test_models_do_not_import_inference():
    found = [
        str(p)
        for p in _sources(PACKAGE / "models")
        if re.search(r"from \.\.inference|dla_dense\.inference", p.read_text())
    ]
    assert not found, found


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports anywhere (also inside functions), without the imports made
    only for type checkers (``if TYPE_CHECKING:``)."""
    import ast

    tree = ast.parse(path.read_text())
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for body in node.body
        for n in ast.walk(body)
    }
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
            found.update(f"{target}.{alias.name}" for alias in node.names)
            found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "dla_dense"}


def test_no_import_loop_in_the_package():
    modules = {}
    for path in _sources():
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        targets = {t for t in _imports(path) if t in modules}
        # importing a.b.c runs a.b too; a module's own ancestors are being imported already
        targets |= {".".join(t.split(".")[:i]) for t in set(targets) for i in range(2, t.count(".") + 1)}
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    loops, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                loops.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not loops, [" -> ".join(loop) for loop in loops]


def test_registry_schemas_tools_and_entry_points_agree():
    from dla_dense.cli import test, train
    from dla_dense.config.schemas import TASK_SCHEMAS
    from dla_dense.tasks import TASKS

    assert list(TASK_SCHEMAS) == list(TASKS)
    for name, task_cls in TASKS.items():
        assert all(task_cls.schemas[section] is schema for section, schema in TASK_SCHEMAS[name].items())
        assert task_cls.info.title and task_cls.info.reports, name
        assert (PACKAGE.parent / "docs" / task_cls.info.docs).is_file(), f"{name}: docs/{task_cls.info.docs}"
        assert f": {task_cls.info.docs}\n" in (PACKAGE.parent / "mkdocs.yml").read_text(), f"{name} not in the nav"
        for kind, module in (("train", train), ("test", test)):
            assert (PACKAGE.parent / "tools" / f"{kind}_{name}.py").is_file(), f"tools/{kind}_{name}.py"
            assert getattr(module, f"{name}_main").keywords == {"task": name}
            assert f"dla_dense.cli.{kind}:{name}_main" in (PACKAGE.parent / "pyproject.toml").read_text()


def test_tools_and_tasks_do_not_switch_on_result_types_or_dataset_names():
    found = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in _sources(PACKAGE / "cli") + _sources(PACKAGE / "tasks")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"isinstance\([^)]*Result\b|dataset ?[!=]= ?\"", line)
    ]
    assert not found, found


def test_no_module_reads_detections_by_column():
    found = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in _sources()
        if path.parent.name not in ("ops",)  # the reference's packed decoders live there, for parity
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"dets?\[:, *-?\d|shape\[1\] *> *6|rows?\[:, *-?\d", line)
    ]
    assert not found, found


#: The layers of the package, lowest first: a folder (or top-level module) imports only from lower layers, lazy
#: imports included. Folders in one layer (heads, models, data, tracking) import none of each other: data
#: imports no head or model, heads and models import no data.
LAYERS = (
    {"errors"},
    {"runtime", "dist", "fields", "images", "outputs", "weights", "visualize", "drawing", "registry"},
    {"ops", "backbones", "config"},
    {"heads", "models", "data", "tracking", "adapters"},
    {"evaluation", "export", "analysis"},
    {"engine"},
    {"inference"},
    {"tasks"},
    {"pretrained"},
    {"predictor"},
    {"benchmark"},
    {"cli"},
)


def test_folders_import_only_lower_layers():
    rank = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    unplaced = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _sources()} - set(rank) - {"__init__"}
    assert not unplaced, f"put {sorted(unplaced)} in a layer of LAYERS"
    found = []
    for path in _sources():
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for target in _imports(path):
            parts = target.split(".")
            if len(parts) < 2 or parts[1] == own or parts[1] not in rank:
                continue
            if rank[parts[1]] >= rank[own]:
                found.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert not found, found


def _members(cls) -> set[str]:
    """The names ``cls`` itself defines or declares (not Python's dunders or ABC's bookkeeping)."""
    names = set(vars(cls)) | set(vars(cls).get("__annotations__", {}))
    return {k for k in names if not (k.startswith("__") and k.endswith("__")) and k != "_abc_impl"}


def test_tasks_are_small_compositions():
    """The Task contract has at most 15 members, no class under tasks/ defines more than 25, a registered task's
    whole surface (its own and inherited dla_dense members) is at most 30, and no registered task inherits
    another: they share parts, not a base class."""
    import inspect

    import dla_dense.tasks as tasks_package
    from dla_dense.tasks import TASKS
    from dla_dense.tasks.base import Task

    assert len(_members(Task)) <= 15, sorted(_members(Task))
    for module in (PACKAGE / "tasks").glob("*.py"):
        mod = __import__(f"dla_dense.tasks.{module.stem}", fromlist=["_"])
        for cls in (c for _, c in inspect.getmembers(mod, inspect.isclass) if c.__module__ == mod.__name__):
            assert len(_members(cls)) <= 25, (cls.__name__, sorted(_members(cls)))
    registered = set(TASKS.values())
    for name, cls in TASKS.items():
        surface = set().union(*(_members(b) for b in cls.__mro__ if b.__module__.startswith("dla_dense")))
        assert len(surface) <= 30, (name, len(surface), sorted(surface))
        assert not registered & set(cls.__mro__[1:]), f"{name} inherits a registered task"
    assert tasks_package.TASKS is TASKS

"""Test-wide settings (never touch the network or a user's model cache) and the shared fixtures."""

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="dla_dense_hf_")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402
from support import ROOT, run_main, write_tiny_config  # noqa: E402

from dla_dense.cli import train  # noqa: E402

# Property-based tests: the same examples in every run (no flaky CI, no example database written), and a
# long search for bugs with HYPOTHESIS_PROFILE=fuzz.
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, deadline=None)
settings.register_profile("fuzz", max_examples=3000, database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def repo_root():
    """The repository root (tools/, configs/)."""
    return ROOT


@pytest.fixture(scope="session")
def tool():
    """``tool(name, *args)``: run ``tools/<name>.py``'s main in this process (:func:`support.run_main`)."""
    return run_main


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """``trained_tiny(task)`` -> ``(config, work_dir)``: ``task``'s tiny config, trained once per session by
    ``tools/train.py``'s main, in this process (its data under the config's folder)."""
    cache = {}

    def get(task: str):
        if task not in cache:
            base = tmp_path_factory.mktemp(f"trained_{task}")
            config = write_tiny_config(base / f"tiny_{task}.py", task, base / "data")
            work = base / "run"
            assert train.main([str(config), "--work-dir", str(work), "--device", "cpu"]) == 0
            cache[task] = (config, work)
        return cache[task]

    return get


@pytest.fixture
def tiny_config(tmp_path):
    """``tiny_config(task, **changes)``: a tiny config file of ``task`` in ``tmp_path``, data under it."""

    def make(task: str, name: str | None = None, **changes):
        return write_tiny_config(tmp_path / (name or f"tiny_{task}.py"), task, tmp_path / f"data_{task}", **changes)

    return make

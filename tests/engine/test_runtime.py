import subprocess
import sys
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "dla_dense" / "runtime.py"
#: runtime.py alone (standard library only), without importing the package and torch: a fresh process in 0.1 s.
CODE = (
    f"import importlib.util as u; s = u.spec_from_file_location('runtime', {str(RUNTIME)!r}); "
    "m = u.module_from_spec(s); s.loader.exec_module(m); print(m.tune_malloc(), m.tune_malloc())"
)


def _run(env_extra: dict[str, str]) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "LD_PRELOAD", "DLA_DENSE_MALLOC")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow  # fresh processes per allocator setting
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux only")
def test_tune_malloc_sets_thresholds_once_and_can_be_switched_off():
    import platform

    expected = "True True" if platform.libc_ver()[0] == "glibc" else "False False"
    assert _run({}).strip() == expected
    assert _run({"DLA_DENSE_MALLOC": "0"}).strip() == "False False"
    assert _run({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576"}).strip() == "False False"


def test_amp_auto_resolves_to_native_bf16_or_none():
    import torch

    from dla_dense.engine.trainer import autocast, native_bf16, resolve_amp

    cpu = torch.device("cpu")
    assert resolve_amp(cpu, "auto") == ("bf16" if native_bf16(cpu) else "none")
    assert resolve_amp(cpu, "none") == "none" and resolve_amp(cpu, "bf16") == "bf16"
    with autocast(cpu, "bf16"):
        y = torch.nn.functional.linear(torch.randn(2, 4), torch.randn(3, 4))
    assert y.dtype == torch.bfloat16

"""The serving side imports neither torch nor the training package."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

from serving.model import REPO_ROOT

MODULES = ("serving", "serving.server", "serving.servicer", "serving.engine", "serving.batcher",
           "serving.model", "serving.preprocess", "serving.client", "serving.client.cli",
           "serving.__main__")


def forbidden_imports(modules: Sequence[str], forbidden: Sequence[str]) -> list[str]:
    """The modules of the `forbidden` top-level packages that importing `modules` loads, in a
    fresh interpreter."""
    code = (
        "import importlib, sys\n"
        f"for name in {tuple(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {tuple(forbidden)!r})\n"
        "print(','.join(bad))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=REPO_ROOT, timeout=60, check=True)
    return [name for name in completed.stdout.strip().split(",") if name]


def test_serving_never_imports_torch_or_training() -> None:
    bad = forbidden_imports(MODULES, ("torch", "training"))
    assert bad == [], f"serving imported {','.join(bad)}"

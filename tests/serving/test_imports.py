"""The serving side imports neither torch nor the training package."""

from __future__ import annotations

import subprocess
import sys

from serving.model import REPO_ROOT

MODULES = ("serving", "serving.server", "serving.servicer", "serving.engine", "serving.batcher",
           "serving.model", "serving.preprocess", "serving.client", "serving.client.cli",
           "serving.__main__")


def test_serving_never_imports_torch_or_training() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'training'))\n"
        "print(','.join(bad))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=REPO_ROOT, timeout=60, check=True)
    assert completed.stdout.strip() == "", f"serving imported {completed.stdout.strip()}"

"""The batch path imports neither torch, grpc, ray nor the training package."""

from __future__ import annotations

import subprocess
import sys

from serving.model import REPO_ROOT

MODULES = ("serving.batch.cli", "serving.batch.job", "serving.batch.local",
           "serving.batch.predictor", "serving.batch.pack", "serving.batch.ray_engine",
           "serving.batch.ray_session")


def test_batch_imports_neither_torch_grpc_ray_nor_training() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('torch', 'grpc', 'ray', 'training'))\n"
        "print(','.join(bad))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=REPO_ROOT, timeout=60, check=True)
    assert completed.stdout.strip() == "", f"the batch path imported {completed.stdout.strip()}"

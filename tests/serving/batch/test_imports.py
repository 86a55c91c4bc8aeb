"""The batch path imports neither torch, grpc, ray nor the training package."""

from __future__ import annotations

from tests.serving.test_imports import forbidden_imports

MODULES = ("serving.batch.cli", "serving.batch.job", "serving.batch.local",
           "serving.batch.predictor", "serving.batch.pack", "serving.batch.ray_engine",
           "serving.batch.ray_session")


def test_batch_imports_neither_torch_grpc_ray_nor_training() -> None:
    bad = forbidden_imports(MODULES, ("torch", "grpc", "ray", "training"))
    assert bad == [], f"the batch path imported {','.join(bad)}"

"""The committed stubs in serving/generated are what `make protos` would generate now."""

from __future__ import annotations

from pathlib import Path

from serving.protogen import GENERATED_DIR, generate


def test_committed_stubs_equal_freshly_generated_ones(tmp_path: Path) -> None:
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in generate(tmp_path)}
    committed = {p.relative_to(GENERATED_DIR): p.read_bytes()
                 for p in GENERATED_DIR.rglob("*.py*") if "__pycache__" not in p.parts}
    assert sorted(map(str, fresh)) == sorted(map(str, committed)), "run `make protos`"
    stale = [str(path) for path, data in fresh.items() if committed[path] != data]
    assert not stale, f"stale generated stubs {stale}: run `make protos` and commit them"


def test_stubs_import_from_the_serving_package() -> None:
    grpc_stub = (GENERATED_DIR / "digits" / "v1" / "digits_pb2_grpc.py").read_text()
    assert "from serving.generated.digits.v1 import digits_pb2" in grpc_stub
    assert (GENERATED_DIR / "digits" / "v1" / "digits_pb2.pyi").is_file()

"""Regenerates the protobuf/gRPC stubs of protos/ into serving/generated/ (`make protos`)."""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "protos"
PROTO_FILES = ("digits/v1/digits.proto",)  # relative to PROTO_ROOT
GENERATED_DIR = Path(__file__).resolve().parent / "generated"
GENERATED_PACKAGE = "serving.generated"  # the import path of GENERATED_DIR

_PACKAGE_DOC = '"""Generated protobuf/gRPC stubs (`make protos`); never edit by hand."""\n'

log = logging.getLogger(__name__)


class ProtogenError(RuntimeError):
    """protoc failed; its message names the proto file and the compiler's exit code."""


def _fix_imports(text: str) -> str:
    """protoc writes `from digits.v1 import x_pb2`; the stubs live in serving.generated."""
    return re.sub(
        r"^from (digits(?:\.\w+)*) import (\w+_pb2)",
        rf"from {GENERATED_PACKAGE}.\1 import \2",
        text,
        flags=re.MULTILINE,
    )


def generate(out_dir: Path) -> list[Path]:
    """Write the stubs (.py, .pyi, _grpc.py and package __init__.py files) under `out_dir`."""
    from grpc_tools import protoc  # dev-only dependency: serving runs from the committed stubs

    include = Path(protoc.__file__).resolve().parent / "_proto"
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for proto in PROTO_FILES:
            code = protoc.main([
                "grpc_tools.protoc",
                f"-I{PROTO_ROOT}",
                f"-I{include}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(PROTO_ROOT / proto),
            ])
            if code != 0:
                raise ProtogenError(f"protoc failed on {proto} with exit code {code}")
        for source in sorted(Path(tmp).rglob("*.py*")):
            relative = source.relative_to(tmp)
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_fix_imports(source.read_text()))
            written.append(target)
    for package in {out_dir, *(p.parent for p in written)}:
        while package != out_dir.parent:
            init = package / "__init__.py"
            if not init.exists():
                init.write_text(_PACKAGE_DOC)
                written.append(init)
            package = package.parent
    return sorted(written)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=GENERATED_DIR,
                        help="where the generated package goes (default: serving/generated)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.out_dir == GENERATED_DIR and GENERATED_DIR.exists():
        shutil.rmtree(GENERATED_DIR)  # so stubs of deleted protos do not linger
    for path in generate(args.out_dir):
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()

"""deploy/Dockerfile (it cannot be built here): a build stage compiles the project's wheel (its C
loops), the image installs it with the base dependencies only, whose whole dependency tree has
no torch, copies no training code, runs as a non-root user, and its command line is a valid
server configuration on every interface."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from serving.__main__ import config_from_args, parse_args
from serving.model import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
TRAINING_ONLY = {"torch", "torchvision", "onnx", "onnxscript", "matplotlib"}
IMAGE_EXTRAS = ("", "ray")  # EXTRAS='' (the server) and '[ray]' (RayJob pods)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def of(kind: str) -> list[str]:
    return [arguments for instruction, arguments in instructions() if instruction == kind]


def dependency_closure(requirements: list[str], extras: set[str]) -> set[str]:
    """Every distribution `requirements` pull in, transitively, from the installed metadata
    (this environment has every one the image would get: it installs the same project)."""
    seen: set[str] = set()
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        requirement, active = todo.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e})
                                          for e in active | {""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue  # not for this platform (its marker said so) or optional
        todo += [(Requirement(r), set(requirement.extras)) for r in requires]
    return seen


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, FROM first."""
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def test_a_build_stage_compiles_the_wheel_and_the_image_installs_it_with_extras_only() -> None:
    build, image = stages()
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    (compile_wheel,) = [args for kind, args in build if kind == "RUN" and "pip wheel" in args]
    assert shlex.split(compile_wheel.split("pip wheel", 1)[1]) == [
        "--no-deps", "--no-cache-dir", "--wheel-dir", "/wheels", "."]
    assert any("gcc" in args for kind, args in build if kind == "RUN")  # serving/_imagecore.c
    assert image[0] == ("FROM", "python:3.11-slim")
    assert not any("gcc" in args for _, args in image)  # the image carries no compiler
    installs = [args for kind, args in image if kind == "RUN" and "pip install" in args]
    assert len(installs) == 1
    words = shlex.split(installs[0].split("pip install", 1)[1].split("&&")[0])
    assert words == ["$(ls /wheels/digits-*.whl)${EXTRAS}"], installs[0]
    assert ("COPY", "--from=build /wheels /wheels") in image
    assert of("ARG") == ['EXTRAS=""']


@pytest.mark.parametrize("extra", IMAGE_EXTRAS)
def test_the_image_dependency_tree_has_no_torch(extra: str) -> None:
    requirements = list(PYPROJECT["dependencies"])
    if extra:
        requirements += PYPROJECT["optional-dependencies"][extra]
    closure = dependency_closure(requirements, {extra} if extra else set())
    assert {"onnxruntime", "grpcio", "numpy"} <= closure
    assert not closure & TRAINING_ONLY, sorted(closure & TRAINING_ONLY)


def test_only_serving_code_and_the_model_are_copied() -> None:
    sources = {word for copy in of("COPY") if not copy.startswith("--from=")
               for word in copy.split()[:-1]}
    assert sources == {"pyproject.toml", "README.md", "serving/", "exported/"}
    ignore = [line for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
              if line and not line.startswith("#")]
    assert ignore[0] == "*"  # the build context is only what is let back in
    assert {line[1:] for line in ignore if line.startswith("!")} == sources


def test_runs_as_a_non_root_user_on_the_grpc_port() -> None:
    assert of("USER") == ["10001:10001"]
    assert of("EXPOSE") == ["50051"]


def test_entrypoint_and_cmd_are_a_valid_server_on_every_interface() -> None:
    (entrypoint,), (cmd,) = of("ENTRYPOINT"), of("CMD")
    program = json_list(entrypoint)
    assert program[:3] == ["python", "-m", "serving"]
    config = config_from_args(parse_args(program[3:] + json_list(cmd)))
    assert config.address == "0.0.0.0:50051"
    assert config.max_connection_age_s == 30
    assert str(config.model_path) == "/app/exported"


def json_list(arguments: str) -> list[str]:
    """An exec-form (JSON array) ENTRYPOINT or CMD."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def test_the_dependency_check_finds_torch_where_it_is() -> None:
    assert {"torch", "torchvision"} <= dependency_closure(
        PYPROJECT["optional-dependencies"]["train"], set())

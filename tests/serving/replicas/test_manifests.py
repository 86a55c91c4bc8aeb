"""deploy/k8s: every manifest passes strict schema validation offline (kubernetes-validate bundles
the schemas), the manifests agree with each other and with the server's own flags, and the
Indexed Job gives every shard to exactly one index."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from serving.__main__ import config_from_args, parse_args
from serving.batch import cli as batch_cli
from serving.batch.config import JobConfig
from serving.model import REPO_ROOT
from serving.server import SERVICE_NAME

K8S_DIR = REPO_ROOT / "deploy" / "k8s"
# The oldest Kubernetes these manifests support (gRPC probes are GA since 1.27) and a recent one.
KUBERNETES_VERSIONS = ("1.28", "1.33")
IMAGE_MODEL = Path("/app/exported")  # where deploy/Dockerfile puts the model
CUSTOM_RESOURCES = {"rayjob.yaml"}  # KubeRay's CRD: no bundled schema, checked below instead
MANIFESTS = sorted(K8S_DIR.glob("*.yaml"))
Doc = dict[str, Any]


def load(name: str) -> Doc:
    (document,) = yaml.safe_load_all((K8S_DIR / name).read_text())
    return document


def validate(document: Doc, version: str) -> None:
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        where = "/".join(str(p) for p in err.path)
        pytest.fail(f"{document['kind']} {document['metadata']['name']}: {err.message} at "
                    f"{where} (Kubernetes {version})")


def batch_job(argv: list[str]) -> JobConfig:
    """The JobConfig `digits` makes of a command line (argv without the program name)."""
    args = batch_cli.parse_args(argv)
    assert args.command == "batch"
    return batch_cli.job_config(args)


def pod_specs(document: Doc) -> list[Doc]:
    """The pod specs inside a Deployment, Job or RayJob."""
    if document["kind"] == "RayJob":
        cluster = document["spec"]["rayClusterSpec"]
        return [cluster["headGroupSpec"]["template"]["spec"],
                *(group["template"]["spec"] for group in cluster["workerGroupSpecs"])]
    return [document["spec"]["template"]["spec"]]


def test_the_expected_manifests_are_there() -> None:
    assert {m.name for m in MANIFESTS} == {
        "deployment.yaml", "service-headless.yaml", "hpa.yaml", "pdb.yaml", "job-batch.yaml",
        "rayjob.yaml", "ingress-nginx.yaml"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", [m for m in MANIFESTS if m.name not in CUSTOM_RESOURCES],
                         ids=lambda p: p.name)
def test_manifest_passes_strict_validation(path: Path, version: str) -> None:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert len(documents) == 1
    validate(documents[0], version)


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The check above has teeth: a misspelt field fails."""
    deployment = load("deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readynessProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_deployment_args_are_valid_server_flags_and_fit_the_grace_period() -> None:
    pod = load("deployment.yaml")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    config = config_from_args(parse_args(container["args"]))
    assert config.address == "0.0.0.0:50051"
    assert config.max_connection_age_s is not None
    # SIGKILL must never cut the drain and the graceful stop short.
    assert pod["terminationGracePeriodSeconds"] > config.drain_s + config.grace_s
    assert container["ports"][0]["containerPort"] == 50051
    assert config.engine.runtime.intra_op_threads == int(container["resources"]["requests"]["cpu"])


def test_probes_ask_grpc_health_on_the_server_port() -> None:
    (container,) = load("deployment.yaml")["spec"]["template"]["spec"]["containers"]
    probes = {kind: container[kind] for kind in ("startupProbe", "readinessProbe",
                                                 "livenessProbe")}
    assert all(probe["grpc"]["port"] == 50051 for probe in probes.values())
    assert probes["readinessProbe"]["grpc"]["service"] == SERVICE_NAME


def test_service_hpa_and_pdb_point_at_the_deployment() -> None:
    deployment, service = load("deployment.yaml"), load("service-headless.yaml")
    hpa, pdb, ingress = load("hpa.yaml"), load("pdb.yaml"), load("ingress-nginx.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["clusterIP"] == "None"  # headless: one DNS record per ready pod
    assert service["spec"]["selector"] == labels
    assert pdb["spec"]["selector"]["matchLabels"] == labels
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    port_names = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["maxUnavailable"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]


@pytest.mark.parametrize("name", ["deployment.yaml", "job-batch.yaml", "rayjob.yaml"])
def test_every_volume_mount_names_a_volume_of_its_pod(name: str) -> None:
    for pod in pod_specs(load(name)):
        volumes = {volume["name"] for volume in pod.get("volumes", [])}
        for container in pod["containers"]:
            assert {m["name"] for m in container.get("volumeMounts", [])} <= volumes


def test_batch_job_is_indexed_with_one_shard_group_per_index() -> None:
    job = load("job-batch.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert job["spec"]["completionMode"] == "Indexed"
    assert int(env["SHARD_COUNT"]) == job["spec"]["completions"]


def run_job_script(tmp_path: Path, shard_count: int) -> list[list[str]]:
    """Run the Job's script with /bin/sh for every index, on `shard_count` fake shards named
    as `digits pack` names them, with a stand-in `digits` that prints its arguments; returns
    each index's `digits` arguments."""
    job = load("job-batch.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    shards = tmp_path / "data" / "shards"
    shards.mkdir(parents=True)
    for n in range(shard_count):
        (shards / f"part-{n:05d}.parquet").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "digits").write_text('#!/bin/sh\nfor a in "$@"; do echo "ARG $a"; done\n')
    (bin_dir / "digits").chmod(0o755)
    script = container["args"][0].replace("/data/", f"{tmp_path}/data/")
    count = job["spec"]["completions"]
    calls = []
    for index in range(count):
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
               "JOB_COMPLETION_INDEX": str(index), "SHARD_COUNT": str(count)}
        out = subprocess.run([*container["command"], script], env=env, capture_output=True,
                             text=True, check=True, timeout=30).stdout
        calls.append(re.findall(r"^ARG (.*)$", out, re.MULTILINE))
    return calls


def test_batch_job_gives_every_shard_to_exactly_one_index(tmp_path: Path) -> None:
    calls = run_job_script(tmp_path, shard_count=10)
    taken: list[str] = []
    for index, argv in enumerate(calls):
        config = batch_job(argv)
        assert config.engine == "local" and config.predictor.model_path == IMAGE_MODEL
        assert config.output.endswith(f"/data/predictions/part-{index}.parquet")
        taken += config.inputs
    shards = sorted(str(p) for p in (tmp_path / "data" / "shards").iterdir())
    assert sorted(taken) == shards


def test_batch_job_indexes_without_a_shard_do_nothing(tmp_path: Path) -> None:
    calls = run_job_script(tmp_path, shard_count=2)
    assert [len(argv) > 0 for argv in calls] == [True, True, False, False]


def test_batch_job_fails_when_there_is_no_shard_at_all(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        run_job_script(tmp_path, shard_count=0)


def test_rayjob_runs_digits_batch_on_ray_with_valid_pod_templates() -> None:
    """KubeRay's CRD has no bundled schema: its structure is checked here, and its head and
    worker pod templates are validated strictly as core PodTemplates."""
    rayjob = load("rayjob.yaml")
    assert (rayjob["apiVersion"], rayjob["kind"]) == ("ray.io/v1", "RayJob")
    spec = rayjob["spec"]
    assert set(spec) <= {"entrypoint", "shutdownAfterJobFinishes", "ttlSecondsAfterFinished",
                         "activeDeadlineSeconds", "rayClusterSpec", "submissionMode",
                         "runtimeEnvYAML"}
    program, *argv = shlex.split(spec["entrypoint"])
    config = batch_job(argv)
    assert program == "digits"
    assert (config.engine, config.ray.address) == ("ray", "auto")
    assert config.predictor.model_path == IMAGE_MODEL
    assert spec["shutdownAfterJobFinishes"] is True
    cluster = spec["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    images = set()
    for group in groups:
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())
        template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "ray"},
                    "template": group["template"]}
        for version in KUBERNETES_VERSIONS:
            validate(template, version)
        images |= {c["image"] for c in group["template"]["spec"]["containers"]}
    assert len(images) == 1  # head and workers run the same Ray and Digits
    for worker in cluster["workerGroupSpecs"]:
        assert worker["minReplicas"] <= worker["replicas"] <= worker["maxReplicas"]

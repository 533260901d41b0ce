"""deploy/kubernetes-scaled: the celery overlay of the manifests, as kustomize builds it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def built() -> list[dict[str, Any]]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy/kubernetes-scaled")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container["env"]}


def test_bot_replicas_roll_and_build_nothing() -> None:
    docs = built()
    bot = named(docs, "Deployment", "ecrbot")
    assert bot["spec"]["replicas"] >= 2
    assert bot["spec"]["strategy"]["type"] == "RollingUpdate"
    pod = bot["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["ecrbot"]  # no engine sidecar
    # build-secrets: the replicas build nothing, but they check the catalog's secret files.
    assert {v["name"] for v in pod["volumes"]} == {"catalog", "work", "scratch", "build-secrets"}
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]  # no SQLite volume
    variables = env(pod["containers"][0])
    assert variables["ECRBOT_WORKER_BACKEND"]["value"] == "celery"
    assert "DOCKER_HOST" not in variables
    for secret in ("ECRBOT_BROKER_URL", "ECRBOT_DATABASE_URL"):
        assert variables[secret] == {
            "name": secret,
            "valueFrom": {"secretKeyRef": {"name": "ecrbot", "key": secret}},
        }


def test_workers_build_on_their_own_engine_with_the_bot_settings() -> None:
    docs = built()
    worker = named(docs, "Deployment", "ecrbot-worker")
    pod = worker["spec"]["template"]["spec"]
    main, engine = pod["containers"]
    assert main["args"][0] == "worker" and engine["image"].startswith("docker:")
    variables = env(main)
    host = variables["DOCKER_HOST"]["value"]
    assert host == "unix:///run/ecrbot-docker/docker.sock"
    # Only the unix socket, shared with the worker through a volume; no TCP listener at all.
    assert [a for a in engine["args"] if a.startswith("--host=")] == [f"--host={host}"]
    mounts = [{m["name"]: m["mountPath"] for m in c["volumeMounts"]} for c in (main, engine)]
    assert mounts[0]["docker-socket"] == mounts[1]["docker-socket"] == "/run/ecrbot-docker"
    bot = env(named(docs, "Deployment", "ecrbot")["spec"]["template"]["spec"]["containers"][0])
    for shared in ("ECRBOT_WORKER_BACKEND", "ECRBOT_WORKERS", "ECRBOT_BROKER_URL"):
        assert variables[shared] == bot[shared], shared
    catalog = next(v for v in pod["volumes"] if v["name"] == "catalog")
    assert catalog["configMap"]["name"].startswith("ecrbot-catalog-")  # the generated one
    settings = Settings.model_validate(
        {
            "ECRBOT_WORKER_BACKEND": "celery",
            "ECRBOT_BROKER_URL": "redis://redis:6379/0",
            "ECRBOT_DATABASE_URL": "postgresql+psycopg://u:p@db/ecrbot",
            "ECRBOT_WORKERS": variables["ECRBOT_WORKERS"]["value"],
        }
    )
    assert settings.workers == 8
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 600


def test_the_migration_job_runs_db_upgrade() -> None:
    job = named(built(), "Job", "ecrbot-db-upgrade")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert env(container)["ECRBOT_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "ecrbot"

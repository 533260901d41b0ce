"""One e2e world: a Slack stand-in, a sample app in git, its ECR repository in moto, the bot."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import requests

from tests.e2e.fleet import Fleet
from tests.e2e.harness import (
    ADMIN,
    ADMIN_GROUP,
    ALICE,
    APP_TEAM_GROUP,
    BOT_TOKEN,
    SIGNING_SECRET,
    BotProcess,
    SampleApp,
    ecr,
    free_ports,
    unique,
    wait_until,
    write_catalog,
)
from tests.standins.slack_api import SlackStandIn
from tests.standins.slack_client import SlackSender

FINAL_STATES = {"succeeded", "failed", "cancelled", "interrupted"}
# Every bot log of the session; tests/e2e/conftest.py scans them all for secrets at the end.
BOT_LOGS: list[Path] = []


class World:
    """Drives the bot the way Slack would and reads what Slack and the registry saw."""

    def __init__(
        self, tmp: Path, env: dict[str, str], slack: SlackStandIn, backend: str = "local"
    ) -> None:
        self.tmp = tmp
        # `celery`: the bot replicas send jobs to `ecrbot worker` processes through Redis, and
        # every process shares a PostgreSQL schema of its own (tests/e2e/fleet.py).
        self.backend = backend
        self.fleet = Fleet(tmp, env) if backend == "celery" else None
        self.env = env
        self.slack = slack
        self.ecr = ecr(env)
        self.app = unique("e2e")
        self.sample = SampleApp.create(tmp / "src" / self.app, Path(env["BUSYBOX_STATIC"]))
        self.apps: dict[str, dict[str, Any]] = {
            self.app: {"source": str(self.sample.path), "pushers": [APP_TEAM_GROUP]}
        }
        self.catalog_slack: dict[str, Any] = {}  # more keys for the catalog's `slack:` block
        self.registries: dict[str, dict[str, str]] = {}  # the catalog's `registries:`
        self.home_role: str | None = None  # the catalog's `registry.role`
        self.bot: BotProcess | None = None
        self.replicas: list[BotProcess] = []
        self.shared_rows = ""  # the PostgreSQL jobs of a celery world, as JSON, at its end
        self.sender: SlackSender | None = None
        slack.set_usergroup(ADMIN_GROUP, [ADMIN])
        slack.set_usergroup(APP_TEAM_GROUP, [ALICE])

    def create_repository(self, immutable: bool = True, name: str | None = None) -> str:
        self.ecr.create_repository(
            repositoryName=name or self.app,
            imageTagMutability="IMMUTABLE" if immutable else "MUTABLE",
        )
        return name or self.app

    def bot_env(self, **overrides: str) -> dict[str, str]:
        catalog = write_catalog(
            self.tmp / "catalog.yml",
            self.apps,
            home_role=self.home_role,
            registries=self.registries,
            **self.catalog_slack,
        )
        slack_port, ops_port = free_ports(2)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:" + str(Path.home() / ".pyenv/shims"),
            "HOME": str(self.tmp),
            **{k: v for k, v in self.env.items() if k.startswith(("AWS_", "DOCKER_"))},
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack.api_url,
            "ECRBOT_CONFIG": str(catalog),
            "ECRBOT_DATABASE_URL": f"sqlite:///{self.tmp}/ecrbot.db",
            "ECRBOT_WORK_DIR": str(self.tmp / "work"),
            "ECRBOT_REGISTRY_CA_BUNDLE": self.env["ECR_EDGE_CA_CERT"],
            "ECRBOT_PROGRESS_INTERVAL": "1",
            "ECRBOT_DRAIN_SECONDS": "5",
            "PORT": str(slack_port),
            "ECRBOT_OPS_PORT": str(ops_port),
            "ECRBOT_OPS_HOST": "127.0.0.1",
        }
        if self.fleet is not None:
            env.update(self.fleet.env())
        env.update(overrides)
        return env

    def start_bot(self, **overrides: str) -> BotProcess:
        """The bot in HTTP mode, and a sender that signs requests like Slack."""
        self.bot = self._launch(overrides, wait_http=True)
        self.sender = SlackSender(
            self.bot.url, SIGNING_SECRET, response_urls=self.slack.response_url
        )
        return self.bot

    def start_bot_socket_mode(self, app_token: str, **overrides: str) -> BotProcess:
        """The bot over Socket Mode: no HTTP server, the stand-in's WebSocket instead."""
        # No Slack HTTP in Socket Mode, but the probes and metrics are served: wait for /healthz.
        self.bot = self._launch({"SLACK_APP_TOKEN": app_token, **overrides}, wait_http=True)
        return self.bot

    def _launch(self, overrides: dict[str, str], wait_http: bool) -> BotProcess:
        env = self.bot_env(**overrides)
        env["PATH"] = os.path.dirname(sys.executable) + ":" + env["PATH"]
        bot = BotProcess(env, self.tmp / "bot.log").start(wait_http=wait_http)
        if self.fleet is not None and not self.fleet.workers:
            try:
                self.start_worker("w1")
            except BaseException:  # the bot is not the world's yet: stop it here, or it leaks
                bot.stop(signal.SIGKILL)
                raise
        return bot

    def start_replica(self, **overrides: str) -> tuple[BotProcess, SlackSender]:
        """One more bot replica on the same database and broker (celery), with its sender."""
        env = self.bot_env(**overrides)
        env["PATH"] = os.path.dirname(sys.executable) + ":" + env["PATH"]
        index = len(self.replicas) + 2
        replica = BotProcess(env, self.tmp / f"bot-{index}.log").start()
        self.replicas.append(replica)
        sender = SlackSender(replica.url, SIGNING_SECRET, response_urls=self.slack.response_url)
        return replica, sender

    def start_worker(self, name: str, concurrency: int = 1, **overrides: str) -> BotProcess:
        """`ecrbot worker` (celery): builds on this machine's engine, posts to Slack."""
        assert self.fleet is not None, "workers are for the celery backend"
        # Its own work dir, as on its own host: git mirrors and scratch are per worker.
        env = self.bot_env(ECRBOT_WORK_DIR=str(self.tmp / f"work-{name}"), **overrides)
        env["PATH"] = os.path.dirname(sys.executable) + ":" + env["PATH"]
        args = ("worker", "--name", name, "--concurrency", str(concurrency))
        worker = BotProcess(env, self.tmp / f"worker-{name}.log", args).start()
        self.fleet.workers[name] = worker
        return worker

    def restart_bot(self, sig: int) -> BotProcess:
        assert self.bot is not None
        self.bot.stop(sig)
        self.bot.start()
        return self.bot

    def stop(self) -> None:
        processes = [self.bot, *self.replicas, *(self.fleet.workers.values() if self.fleet else [])]
        for process in processes:
            if process is not None:
                process.stop()
                BOT_LOGS.append(process.log_path)
        if self.fleet is not None:
            self.shared_rows = json.dumps(self.fleet.jobs(), default=str)  # scanned for secrets
            self.fleet.close()

    # -- Slack's side ----------------------------------------------------------------------

    def slash(self, text: str, user: str = ALICE, **kwargs: Any) -> requests.Response:
        assert self.sender is not None, "start_bot() first"
        return self.sender.slash_command(text, user_id=user, **kwargs)

    def push(self, sha: str, version: str | None = None, user: str = ALICE) -> int:
        """`/ecr push`, asserting a fast acknowledgement; returns the job id."""
        response = self.slash(f"push {self.app} {sha[:7]} {version or ''}".strip(), user=user)
        assert response.status_code == 200, response.text
        assert response.elapsed.total_seconds() < 3
        return job_id(response)

    def parent(self, job: int) -> dict[str, Any] | None:
        """The job's parent message as it is now (after edits)."""
        for message in self.slack.messages():
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("job_id") == job and "thread_ts" not in message:
                return message
        return None

    def thread(self, job: int) -> list[dict[str, Any]]:
        parent = self.parent(job)
        if parent is None:
            return []
        return [m for m in self.slack.messages() if m.get("thread_ts") == parent["ts"]]

    def jobs(self) -> list[dict[str, Any]]:
        """Every job row in the bot's database, as the bot stored it."""
        if self.fleet is not None:
            return self.fleet.jobs()
        database = self.tmp / "ecrbot.db"
        if not database.exists():
            return []
        with closing(sqlite3.connect(database)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute("SELECT * FROM jobs ORDER BY id")]

    def wait_finished(self, job: int, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the parent message shows a final state and the final reply is posted."""

        def done() -> dict[str, Any] | None:
            parent = self.parent(job)
            state = ((parent or {}).get("metadata") or {}).get("event_payload", {}).get("state")
            if parent and state in FINAL_STATES and len(self.thread(job)) >= 1:
                final = self.thread(job)[-1]["text"]
                if final.startswith(("✅ Done", "❌", "🛑", "⚠️ Interrupted")):
                    return parent
            return None

        try:
            return wait_until(done, timeout)  # type: ignore[no-any-return]
        except AssertionError:
            log = self.bot.log()[-4000:] if self.bot else ""
            seen = json.dumps({"parent": self.parent(job), "thread": self.thread(job)})[:3000]
            raise AssertionError(
                f"job {job} did not finish; Slack shows {seen}\nbot log:\n{log}"
            ) from None

    def registry_tags(self, repository: str | None = None) -> dict[str, str]:
        """tag -> digest, as ECR (moto, fed by the registry edge) describes the repository."""
        answer = self.ecr.describe_images(repositoryName=repository or self.app)
        return {
            tag: image["imageDigest"]
            for image in answer["imageDetails"]
            for tag in image.get("imageTags", [])
        }

    def image_labels(self, tag: str, repository: str | None = None) -> dict[str, str]:
        """The labels of an image as the real registry serves its config blob."""
        repo = repository or self.app
        host, auth = self.env["ECR_HOST"], ("AWS", "123456789012-auth-token")
        verify = self.env["ECR_EDGE_CA_CERT"]
        accept = "application/vnd.docker.distribution.manifest.v2+json"
        manifest = requests.get(
            f"https://{host}/v2/{repo}/manifests/{tag}",
            auth=auth,
            verify=verify,
            headers={"Accept": accept},
            timeout=10,
        )
        manifest.raise_for_status()
        config = requests.get(
            f"https://{host}/v2/{repo}/blobs/{manifest.json()['config']['digest']}",
            auth=auth,
            verify=verify,
            timeout=10,
        ).json()
        labels: dict[str, str] = config["config"]["Labels"]
        return labels


def job_id(response: requests.Response) -> int:
    text = response.json().get("text", "")
    match = re.search(r"job (\d+)", text)
    assert match, f"no job id in the acknowledgement: {text!r}"
    return int(match.group(1))


def text_of(message: dict[str, Any]) -> str:
    """Everything a person reads in a message: its text and its blocks' texts."""
    return (
        str(message.get("text", ""))
        + "\n"
        + json.dumps(message.get("blocks", []), ensure_ascii=False)
    )


def assert_succeeded(message: dict[str, Any]) -> str:
    """The parent message shows success; on failure show what the user saw."""
    shown = text_of(message)
    sections = [b["text"]["text"] for b in message.get("blocks", []) if b.get("type") == "section"]
    assert message["text"].startswith("✅"), "\n".join(sections)
    return shown

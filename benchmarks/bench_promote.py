"""Promotion into another account's registry (issue #16), side by side with a person's steps.

A new image each time: busybox and a 50 MB layer of random bytes (incompressible), pushed to
the home registry, then promoted to the second account's registry (the test services' second
host, its own storage: none of the blobs are there). Each side gets its own images and target
repositories, and the engine holds none of them when a side starts (removed after the set-up
push), so neither side finds anything cached.

* **Slack**: `/ecr promote A 1.0.0 prod` sent to the running bot as Slack sends it (signed
  HTTP), timed from the request to the thread's final "Promoted" message reaching the Slack
  stand-in (benchmarks/promote_via_slack.py), as the issue's other promotion figures are.
* **CLI**: `ecrbot promote --app A --ref 1.0.0 --to prod --format json`, the whole process
  (interpreter, imports, ECR logins, skopeo copy by digest, the target read back): the Slack
  side's work plus about 0.45 s of a new process's start.
* **by hand**: what RB-0023's reader would do, with its login (step 2) for each registry:
  `aws ecr get-login-password --region R | docker login --username AWS --password-stdin SOURCE`,
  `docker pull`, `docker tag`, the same pipeline for TARGET, `docker push`. The `aws` CLI runs
  as a person's would (its own process, botocore's start each time). For the target it acts in
  the second account: moto serves requests signed with an `AssumeRole` answer's credentials in
  the role's account, so the set-up (untimed: a person's shell already holds a session for that
  account) runs `aws sts assume-role` once and the target's pipeline gets its credentials as
  environment. `--logins boto3`: the earlier, lighter form, the password fetched in this
  process with boto3 and piped to `docker login` (no `aws` process), for comparison.

Then the same `ecrbot promote` again (`--again` times): "already there", nothing copied.
Floors (issue #16):
the promotion asked in Slack ≤ 0.5 x the manual steps (median of the pairs' ratios; the CLI's
ratio is printed beside it), the target's digest equal to the source's on ecrbot's sides (the
manual side's is reported: docker may re-compress), and already there (the CLI) under 1 s.
The CLI's CPU seconds (its process and skopeo's) are printed beside the wall clock: on a shared
machine the load stretches the wall clock far more than them.
The Slack path of "already there" (from the signed request to the final message) is a round
of bench_approvals. Run: `python -m benchmarks.bench_promote [--pairs 5] [--again 2]
[--bot-dir DIR] [--link-mbit N] [--logins cli|boto3]` (DIR: a checkout whose `ecrbot` CLI is
measured, for a before/after; the Slack side's bot runs from this checkout).

`--link-mbit N` (root: it shapes `lo` with `tc`, see benchmarks/shaped_links.py): while the run
lasts, each registry sits behind its own link of N Mbit/s (downloads from the source, uploads to
the target), for both sides alike. On loopback there is no network between the registries, so a
pull-then-push pays no transfer time; a registry in another account or region is across one. The
run checks first that the shaping is in effect (a 50 MB blob read through the edge takes about
50*8/N s, else the run fails) and reports, for each side, how long each link carried data and
how long both did at once (a copy that streams the download into the upload uses both together).
Issue #16's ratio floor is checked on that run (the same `verdict`; the README says why): a
promotion to another account's or region's registry crosses a network.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.promote_via_slack import SlackPromoter
from benchmarks.shaped_links import Watch, shaped
from tests.e2e.harness import ACCOUNT, REGION, account_session, service_env, write_catalog
from tests.standins.slack_api import SlackStandIn

SECOND = "210987654321"  # the test services' second registry (ECR_HOST_2)
LAYER_MB = 50
RATIO_FLOOR = 0.5
SIDES = ("slack", "cli", "manual")  # each pair's sides, their order turned from pair to pair
ALREADY_FLOOR_S = 1.0
# A shaped run's check: a blob read through the edge takes this many times 8*size/N s at most
# (and at least the lower bound: faster than the link means the shaping is not in effect).
LINK_CHECK = (0.8, 1.5)


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the promotion asked in Slack takes at most half the manual time, ecrbot keeps
    the digest on every run (Slack's and the CLI's) and answers "already there" in under a
    second, and a modelled link (`link_mbit` > 0; 0 is loopback) was shown to be in effect;
    else 1."""
    shaped_ok = figures["link_mbit"] == 0 or LINK_CHECK[0] <= figures["link_check"] <= LINK_CHECK[1]
    ok = (
        figures["ratio"] <= RATIO_FLOOR
        and figures["digest_kept"] >= 1.0
        and figures["already_s"] < ALREADY_FLOOR_S
        and figures["link_mbit"] >= 0
        and shaped_ok
    )
    return 0 if ok else 1


def children_cpu() -> float:
    """CPU seconds of the finished child processes (and theirs): a figure the machine's load
    stretches much less than the wall clock (other engineers share this machine)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def ecr_in(account: str, endpoint: str) -> Any:
    return account_session(account).client("ecr", endpoint_url=endpoint)


def password(ecr: Any) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


class Bench:
    def __init__(
        self, tmp: Path, pairs: int, bot_dir: str | None = None, logins: str = "cli"
    ) -> None:
        self.tmp = tmp
        self.bot_dir = bot_dir  # where `python -m bot` runs from (None: here)
        self.logins = logins  # "cli": the runbook's `aws ... | docker login`; "boto3": in-process
        self.services = service_env()
        self.home_host, self.target_host = self.services["ECR_HOST"], self.services["ECR_HOST_2"]
        endpoint = self.services["AWS_ENDPOINT_URL"]
        self.home, self.target = ecr_in(ACCOUNT, endpoint), ecr_in(SECOND, endpoint)
        self.docker = shutil.which("docker") or "docker"
        self.cpu: list[float] = []  # each `ecrbot promote`'s CPU seconds, skopeo's included
        self.manual_cpu: list[float] = []  # the manual side's clients' (aws, docker; not dockerd)
        # One app per image and side: the catalogs are written once, with every app to promote.
        self.names = [
            {side: f"bench-promote-{uuid.uuid4().hex[:8]}" for side in SIDES} for _ in range(pairs)
        ]
        prod_role = f"arn:aws:iam::{SECOND}:role/ecrbot-promote"
        self.registries = {"prod": {"account_id": SECOND, "region": REGION, "role": prod_role}}
        self.catalog = write_catalog(
            tmp / "catalog.yml",
            {
                names["cli"]: {
                    "source": str(tmp), "environments": [{"name": "prod", "registry": "prod"}]
                }
                for names in self.names
            },
            registries=self.registries,
        )  # fmt: skip
        self.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "ECRBOT_CONFIG": str(self.catalog),
            "ECRBOT_DATABASE_URL": f"sqlite:///{tmp}/ecrbot.db",
            "ECRBOT_WORK_DIR": str(tmp / "work"),
            "ECRBOT_REGISTRY_CA_BUNDLE": self.services["ECR_EDGE_CA_CERT"],
        }
        self.run([sys.executable, "-m", "bot", "db", "upgrade"])
        self.aws_env = {self.home_host: self.env, self.target_host: self.env}
        if logins == "cli":
            self.aws_env[self.target_host] = {**self.env, **self.assumed(SECOND)}

    def assumed(self, account: str) -> dict[str, str]:
        """A session in `account` for the `aws` CLI, as a person's shell would hold: moto acts in
        an assumed role's account for requests signed with its credentials (the CLI can't send
        the x-moto-account-id header the harness uses)."""
        role = f"arn:aws:iam::{account}:role/runbook-promote"
        answer = self.run(["aws", "sts", "assume-role", "--region", REGION, "--role-arn", role,
                           "--role-session-name", "runbook", "--output", "json"])  # fmt: skip
        made = json.loads(answer)["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": made["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": made["SecretAccessKey"],
            "AWS_SESSION_TOKEN": made["SessionToken"],
        }

    def run(self, command: list[str], stdin: str | None = None, cwd: str | None = None) -> str:
        done = subprocess.run(
            command, env=self.env, input=stdin, capture_output=True, text=True, check=False,
            cwd=cwd,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-800:]}")
        return done.stdout

    def prepare(self, name: str) -> str:
        """A new image of `name`:1.0.0 in the home registry, gone from the engine; its digest."""
        context = self.tmp / name
        context.mkdir()
        shutil.copy2(self.services["BUSYBOX_STATIC"], context / "busybox")
        (context / "payload").write_bytes(os.urandom(LAYER_MB * 1024 * 1024))
        (context / "Dockerfile").write_text(
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY payload /payload\n"
        )
        self.home.create_repository(repositoryName=name)
        self.target.create_repository(repositoryName=name)
        image = f"{self.home_host}/{name}:1.0.0"
        self.login(self.home_host, password(self.home))
        self.run([self.docker, "build", "-q", "-t", image, str(context)])
        self.run([self.docker, "push", "-q", image])
        self.forget(name)
        shutil.rmtree(context)
        return str(self.home.describe_images(repositoryName=name)["imageDetails"][0]["imageDigest"])

    def forget(self, name: str) -> None:
        for host in (self.home_host, self.target_host):
            subprocess.run(
                [self.docker, "rmi", "-f", f"{host}/{name}:1.0.0"], capture_output=True, check=False
            )
        subprocess.run([self.docker, "builder", "prune", "-af"], capture_output=True, check=False)

    def login(self, host: str, secret: str) -> None:
        self.run([self.docker, "login", "-u", "AWS", "--password-stdin", host], stdin=secret)

    def runbook_login(self, host: str) -> None:
        """RB-0023's step 2 for `host`: `aws ecr get-login-password --region R | docker login
        --username AWS --password-stdin HOST`, the two processes piped (no shell)."""
        env = self.aws_env[host]
        aws = ["aws", "ecr", "get-login-password", "--region", REGION]
        with subprocess.Popen(aws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as got:
            login = [self.docker, "login", "--username", "AWS", "--password-stdin", host]
            done = subprocess.run(
                login, env=env, stdin=got.stdout, capture_output=True, check=False
            )
            assert got.stdout is not None and got.stderr is not None
            got.stdout.close()
            said = got.stderr.read()
        if got.returncode != 0 or done.returncode != 0:
            raise RuntimeError(f"login to {host} failed: {said[-400:]!r} {done.stderr[-400:]!r}")

    def manual_login(self, host: str) -> None:
        if self.logins == "cli":
            self.runbook_login(host)
        else:  # the earlier form: the password from boto3 in this process
            self.login(host, password(self.home if host == self.home_host else self.target))

    def manual(self, name: str) -> float:
        before = children_cpu()
        started = time.perf_counter()
        source, target = f"{self.home_host}/{name}:1.0.0", f"{self.target_host}/{name}:1.0.0"
        self.manual_login(self.home_host)
        self.run([self.docker, "pull", "-q", source])
        self.run([self.docker, "tag", source, target])
        self.manual_login(self.target_host)
        self.run([self.docker, "push", "-q", target])
        took = time.perf_counter() - started
        self.manual_cpu.append(children_cpu() - before)
        self.forget(name)
        return took

    def ecrbot(self, name: str) -> tuple[float, dict[str, Any]]:
        command = [sys.executable, "-m", "bot", "promote", "--app", name, "--ref", "1.0.0"]
        before = children_cpu()
        started = time.perf_counter()
        answer = json.loads(self.run([*command, "--to", "prod", "--format", "json"], None,
                                     self.bot_dir))  # fmt: skip
        took = time.perf_counter() - started
        self.cpu.append(children_cpu() - before)
        return took, answer

    def link_check(self, name: str, mbit: int) -> float:
        """Reads `name`'s largest blob through the edge: its time over 8*size/N s (1.0: the
        source's link runs at N Mbit/s)."""
        context = ssl.create_default_context(cafile=self.services["ECR_EDGE_CA_CERT"])
        secret = base64.b64encode(f"AWS:{password(self.home)}".encode()).decode()
        base = f"https://{self.home_host}/v2/{name}"
        accept = ", ".join(
            f"application/vnd.{kind}"
            for kind in ("docker.distribution.manifest.v2+json", "oci.image.manifest.v1+json")
        )
        headers = {"Authorization": f"Basic {secret}", "Accept": accept}
        asked = urllib.request.Request(f"{base}/manifests/1.0.0", headers=headers)  # noqa: S310
        with urllib.request.urlopen(asked, context=context) as answer:  # noqa: S310
            layers = json.load(answer)["layers"]
        biggest = max(layers, key=lambda layer: int(layer["size"]))
        blob = f"{base}/blobs/{biggest['digest']}"
        asked = urllib.request.Request(blob, headers=headers)  # noqa: S310
        started = time.perf_counter()
        with urllib.request.urlopen(asked, context=context) as answer:  # noqa: S310
            size = 0
            while piece := answer.read(1 << 20):
                size += len(piece)
        took = time.perf_counter() - started
        expected = size * 8 / (mbit * 1e6)
        print(f"link check: {size / 1e6:.1f} MB read through the edge in {took:.2f} s "
              f"(at {mbit} Mbit/s: {expected:.2f} s)", flush=True)  # fmt: skip
        return took / expected

    def target_digest(self, name: str) -> str:
        return str(
            self.target.describe_images(repositoryName=name)["imageDetails"][0]["imageDigest"]
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--again", type=int, default=2, help="already-there runs per pair")
    parser.add_argument("--bot-dir", default=None, help="the checkout whose ecrbot runs")
    parser.add_argument(
        "--link-mbit", type=int, default=0, help="each registry behind a link of N Mbit/s (0: none)"
    )
    parser.add_argument(
        "--logins",
        choices=("cli", "boto3"),
        default="cli",
        help="the manual side's logins: the runbook's `aws ... | docker login` (cli), or the "
        "password fetched in this process with boto3 (the earlier form)",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ecrbot-bench-promote-") as tmp,
        SlackStandIn() as slack,
    ):
        bench = Bench(Path(tmp), args.pairs, args.bot_dir, args.logins)
        (Path(tmp) / "slack").mkdir()
        names = [names["slack"] for names in bench.names]
        bot = SlackPromoter(Path(tmp) / "slack", slack, names, bench.registries)
        try:
            if args.link_mbit:
                with shaped(args.link_mbit):
                    return measure(bench, bot, args)
            return measure(bench, bot, args)
        finally:
            bot.stop()


def measure(bench: Bench, bot: SlackPromoter, args: argparse.Namespace) -> int:
    """The pairs, the figures and the verdict (inside the shaping, when there is one)."""
    took: dict[str, list[float]] = {side: [] for side in SIDES}
    ratios: dict[str, list[float]] = {"slack": [], "cli": []}
    already: list[float] = []
    copy_cpus: list[float] = []
    already_cpu: list[float] = []
    kept, manual_kept = 0, 0
    link_check = 1.0  # loopback: nothing to check
    where = f"links of {args.link_mbit} Mbit/s" if args.link_mbit else "loopback"
    where += f", manual logins: {args.logins}"
    for pair, names in enumerate(bench.names):
        digests = {side: bench.prepare(name) for side, name in names.items()}
        if args.link_mbit and pair == 0:
            link_check = bench.link_check(names["cli"], args.link_mbit)
        timings: dict[str, float] = {}
        links: dict[str, str] = {}
        turn = pair % len(SIDES)
        for side in SIDES[turn:] + SIDES[:turn]:
            with Watch() as watch:
                if side == "slack":
                    timings[side], said = bot.promote(names[side])
                    assert "copied in" in said, said
                elif side == "cli":
                    timings[side], answer = bench.ecrbot(names[side])
                    assert answer["result"] == "copied", answer
                else:
                    timings[side] = bench.manual(names[side])
            links[side] = watch.summary()
        for side in ("slack", "cli"):
            kept += bench.target_digest(names[side]) == digests[side]
        manual_kept += bench.target_digest(names["manual"]) == digests["manual"]
        copy_cpu = bench.cpu[-1]
        agains = []
        for _ in range(args.again):
            again, answer = bench.ecrbot(names["cli"])
            assert answer["result"] == "already_there", answer
            agains.append(again)
            already_cpu.append(bench.cpu[-1])
        for side in SIDES:
            took[side].append(timings[side])
        for side in ratios:
            ratios[side].append(timings[side] / timings["manual"])
        copy_cpus.append(copy_cpu)
        already += agains
        if args.link_mbit:
            print("  links: " + "; ".join(f"{side} {links[side]}" for side in SIDES), flush=True)
        print(
            f"pair {pair + 1}: Slack {timings['slack']:.2f} s ({ratios['slack'][-1]:.2f}), CLI "
            f"{timings['cli']:.2f} s ({ratios['cli'][-1]:.2f}), by hand {timings['manual']:.2f} "
            f"s; already there {', '.join(f'{a:.2f}' for a in agains)} s (load "
            f"{os.getloadavg()[0]:.1f}); the CLI's CPU: copy {copy_cpu:.2f} s, already there "
            f"{', '.join(f'{c:.2f}' for c in already_cpu[-args.again :])} s; the manual "
            f"clients' CPU (aws, docker; not dockerd) {bench.manual_cpu[-1]:.2f} s",
            flush=True,
        )
    figures = {
        "ratio": statistics.median(ratios["slack"]),
        "digest_kept": kept / (2 * len(bench.names)),
        "already_s": max(already),
        "link_mbit": float(args.link_mbit),
        "link_check": link_check,
    }
    medians = {side: statistics.median(values) for side, values in took.items()}
    print(
        f"{where}: {LAYER_MB} MB layer, {len(bench.names)} sets, load {os.getloadavg()[0]:.1f}: "
        f"medians: Slack {medians['slack']:.2f} s, CLI {medians['cli']:.2f} s, by hand "
        f"{medians['manual']:.2f} s; median ratio: Slack {figures['ratio']:.2f} (floor "
        f"{RATIO_FLOOR}), CLI {statistics.median(ratios['cli']):.2f}; digest kept by ecrbot "
        f"{kept}/{2 * len(bench.names)}, by hand {manual_kept}/{len(bench.names)}; already "
        f"there: slowest {figures['already_s']:.2f} s, median {statistics.median(already):.2f} s "
        f"(floor: under {ALREADY_FLOOR_S} s); the CLI's CPU (medians): copy "
        f"{statistics.median(copy_cpus):.2f} s, already there {statistics.median(already_cpu):.2f}"
        f" s; the manual clients' CPU (median) {statistics.median(bench.manual_cpu):.2f} s"
    )
    if args.link_mbit:
        print(f"link check: {link_check:.2f} x 8*size/N (accepted {LINK_CHECK[0]}-{LINK_CHECK[1]})")
    failed = verdict(figures)
    print("FAIL" if failed else "PASS")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())

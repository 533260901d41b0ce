"""`ecrbot push` as a whole process against the runbook's manual steps (issue #19).

CI runs the CLI, not the pipeline in-process (`bench_buildkit` keeps that figure): each ecrbot
run here is a fresh `python -m bot push --app <app> --sha <sha> --version <v>` process:
interpreter start, imports, settings and catalog, clients, then checkout (its git mirror
fetches the new commit), ECR login, pre-flight, BuildKit build, push of both tags, verify.

The runbook side is `bench_buildkit`'s (RB-0023 steps 1-4 as subprocesses, no shell): `git
clone --depth 1`, `DOCKER_BUILDKIT=1 docker build --build-arg GIT_SHA`, `aws ecr
get-login-password` piped to `docker login`, `docker tag` SHA and version, `docker push` both.
Same engine, same docker CLI, same registry, BuildKit on both sides, a new commit for every
run, 7 pairs whose order alternates; both sides warm (the engine built the previous commit).

moto serves no `GetSigningConfiguration` and takes 0.2-0.9 s to refuse it (an HTML 500) where
real ECR answers at once; ecrbot's AWS calls go through the stand-in that answers it as an
account without managed signing (as `bench_diagnose_cli` does), so moto's refusals aren't timed.

Floor (issue #19): median of the pairs' ratios (ecrbot / runbook) <= 0.90.
`--timeline` also runs one traced push and prints when each child process and connection
starts, counted from the moment the CLI process was started; `--importtime` the slowest
imports (`python -X importtime`).

`--bot-dir DIR` times the `ecrbot` of another checkout (a before/after); each side's CPU time
(its processes', the engine's excepted) is printed beside its wall time: the machine is shared.

Run: `python -m benchmarks.bench_cli_push [--pairs 7] [--timeline] [--importtime]
[--bot-dir DIR]`.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from benchmarks.bench_buildkit import Bench
from benchmarks.bench_diagnose_cli import NOT_IN_MOTO
from tests.e2e.harness import ROOT, service_env, write_catalog
from tests.standins.aws_faults import AwsFaults

FLOOR = 0.90

# Runs the CLI with an audit hook that stamps each child process and socket connection with the
# time since the benchmark started the process (BENCH_T0, wall clock) and the CPU time used so
# far (the process's own, all threads, + its children's that were waited for), on stderr.
TRACED = """
import os, sys, time, runpy
T0 = float(os.environ["BENCH_T0"])
def stamp(text):
    cpu = os.times()
    own, waited = cpu.user + cpu.system, cpu.children_user + cpu.children_system
    sys.stderr.write(f"@{time.time() - T0:.3f} [cpu {own:.2f}+{waited:.2f}] {text}\\n")
def hook(event, args):
    if event == "subprocess.Popen":
        stamp("exec " + " ".join(os.path.basename(str(a)) for a in list(args[1])[:3]))
    elif event == "socket.connect":
        stamp(f"connect {args[1]}")
stamp("interpreter up")
sys.addaudithook(hook)
sys.argv = ["ecrbot", *sys.argv[1:]]
runpy.run_module("bot", run_name="__main__")
"""


class CliBench(Bench):
    """`bench_buildkit`'s app and runbook, with ecrbot as a CLI process per push."""

    def __init__(self, tmp: Path, aws_url: str, bot_dir: Path = ROOT) -> None:
        super().__init__(tmp)
        self.bot_dir = bot_dir  # `python -m bot` runs there: its `bot` comes first on sys.path
        # As an installed CLI has them: with PYTHONDONTWRITEBYTECODE set (as it is here), a
        # checkout without its .pyc files would compile every module it imports on every run.
        compileall.compile_dir(bot_dir / "bot", quiet=1)
        source = f"file://{self.sources['ecrbot']}"  # as the runbook's clone: over git's protocol
        catalog = write_catalog(
            tmp / "ecrbot.yml", {self.repo: {"source": source, "repository": self.repo}}
        )
        self.cli_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ECRBOT_"))},
            "AWS_ENDPOINT_URL": aws_url,
            "ECRBOT_CONFIG": str(catalog),
            "ECRBOT_WORK_DIR": str(tmp / "work"),
            "ECRBOT_REGISTRY_CA_BUNDLE": self.services["ECR_EDGE_CA_CERT"],
            "PYTHONPATH": str(bot_dir),  # that checkout's ecrbot, whatever is installed
        }
        self.outputs: list[str] = []

    def command(self, sha: str, version: str) -> list[str]:
        return ["push", "--app", self.repo, "--sha", sha, "--version", version]

    def ecrbot_cli(self, sha: str, version: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *self.command(sha, version)],
            env=self.cli_env,
            cwd=self.bot_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ecrbot push failed ({done.returncode}):\n{done.stderr}")
        self.outputs.append(done.stdout)

    def timeline(self) -> list[str]:
        """One traced push: child processes, connections and the CLI's own lines, in order."""
        sha, version = self.commit("ecrbot")
        started = time.time()
        env = {**self.cli_env, "BENCH_T0": repr(started)}
        with subprocess.Popen(
            [sys.executable, "-c", TRACED, *self.command(sha, version)],
            env=env,
            cwd=self.bot_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            lines = [f"@{time.time() - started:.3f} {line.rstrip()}" for line in process.stdout]
            lines += [line.rstrip() for line in process.stderr if line.startswith("@")]
            process.wait()
        lines.append(f"@{time.time() - started:.3f} exited {process.returncode}")
        return sorted(lines, key=lambda line: float(line[1:].split(" ", 1)[0]))

    def importtime(self, top: int = 15) -> list[str]:
        """`python -X importtime` of one push: the slowest top-level imports (cumulative)."""
        sha, version = self.commit("ecrbot")
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "bot", *self.command(sha, version)],
            env=self.cli_env,
            cwd=self.bot_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        rows = []
        for line in done.stderr.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if found and len(found.group(3)) <= 1:  # imported by ecrbot itself, not nested
                rows.append((int(found.group(2)), found.group(4)))
        total = sum(us for us, _ in rows)
        shown = [f"{us / 1e6:.3f} s  {name}" for us, name in sorted(rows, reverse=True)[:top]]
        return [f"all top-level imports: {total / 1e6:.3f} s", *shown]


def children_cpu() -> float:
    """User and system CPU of the children waited for so far (the engine's is not counted)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def verdict(figures: Mapping[str, float]) -> int:
    """0 when the median of the pairs' ratios (ecrbot CLI / runbook) is within the floor."""
    return 0 if figures["ratio"] <= FLOOR else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--timeline", action="store_true", help="trace one push's timeline")
    parser.add_argument("--importtime", action="store_true", help="the slowest imports")
    parser.add_argument("--bot-dir", type=Path, default=ROOT, help="the checkout whose ecrbot runs")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="ecrbot-bench-cli-push-") as tmp,
        AwsFaults(service_env()["AWS_ENDPOINT_URL"]) as aws,
    ):
        for operation, answer in NOT_IN_MOTO.items():
            aws.answer(operation, answer)
        bench = CliBench(Path(tmp), aws.url, args.bot_dir.resolve())
        # Warm-up, not timed: each side's first push builds the dependencies and clones.
        bench.ecrbot_cli(*bench.commit("ecrbot"))
        bench.manual(*bench.commit("manual"))
        timings: dict[str, list[float]] = {"manual": [], "ecrbot": []}
        cpu: dict[str, list[float]] = {"manual": [], "ecrbot": []}
        sides = {"manual": bench.manual, "ecrbot": bench.ecrbot_cli}
        for index in range(args.pairs):
            for name in list(sides) if index % 2 else list(reversed(sides)):
                sha, version = bench.commit(name)
                before, started = children_cpu(), time.perf_counter()
                sides[name](sha, version)
                timings[name].append(time.perf_counter() - started)
                cpu[name].append(children_cpu() - before)
        if args.timeline:
            print("timeline of one `ecrbot push` (s since the process was started):")
            print("\n".join(f"  {line}" for line in bench.timeline()))
        if args.importtime:
            print("imports of one `ecrbot push`:")
            print("\n".join(f"  {line}" for line in bench.importtime()))
    manual_s, ecrbot_s = (statistics.median(timings[k]) for k in ("manual", "ecrbot"))
    ratios = [e / m for e, m in zip(timings["ecrbot"], timings["manual"], strict=True)]
    ratio = statistics.median(ratios)
    load_after = os.getloadavg()
    print(f"runbook:     median {manual_s:.3f} s  {[round(t, 3) for t in timings['manual']]}")
    print(f"ecrbot push: median {ecrbot_s:.3f} s  {[round(t, 3) for t in timings['ecrbot']]}")
    for name, label in (("manual", "runbook"), ("ecrbot", "ecrbot push")):
        print(f"{label} CPU: median {statistics.median(cpu[name]):.3f} s  (its processes)")
    print(
        f"load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}"
    )
    failed = verdict({"ratio": ratio})
    print(
        f"{'FAIL' if failed else 'PASS'}: median of the pairs' ratios {ratio:.3f} (ratio of "
        f"medians {ecrbot_s / manual_s:.3f}; floor <= {FLOOR:.2f})"
    )
    return failed


if __name__ == "__main__":
    raise SystemExit(main())

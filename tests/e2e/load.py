"""A burst of signed slash commands as Slack would send them, for the load test and benchmark."""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.e2e.harness import ADMIN, ALICE, MALLORY
from tests.standins.slack_client import SlackSender


@dataclass(frozen=True)
class Sent:
    """One command sent: what, when, how long the acknowledgement took, and what it said."""

    kind: str
    trigger: str
    seconds: float
    status: int
    text: str


@dataclass
class Burst:
    sent: list[Sent] = field(default_factory=list)

    def of(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]

    def outcomes(self) -> Counter[str]:
        def outcome(s: Sent) -> str:
            for words, label in (
                ("Queued", "queued"),
                ("Already queued", "retry found its job"),
                ("Queue full", "refused: queue full"),
                ("You asked for", "refused: rate limit"),
                ("Diagnosing", "diagnosing"),
                ("Recent jobs", "listed"),
                ("No jobs yet", "listed"),
                ("ecrbot help", "help"),
                ("You may not", "refused: not allowed"),
            ):
                if s.text.startswith(words) or words in s.text[:80]:
                    return label
            return f"other: {s.text[:60]}"

        return Counter(outcome(s) for s in self.sent)


def commands(app: str, sha: str, total: int, seed: int = 7) -> list[tuple[str, str, str, str]]:
    """(kind, text, user, trigger) for a mixed burst: pushes (a fifth of them sent twice, as
    Slack retries do), diagnoses, job lists, help and a few refused outsiders."""
    rng = random.Random(seed)
    mix = ["push"] * 4 + ["diagnose"] * 2 + ["jobs"] * 2 + ["help", "outsider"]
    planned: list[tuple[str, str, str, str]] = []
    while len(planned) < total:
        kind = rng.choice(mix)
        trigger = f"load.{len(planned)}.{rng.getrandbits(32):08x}"
        if kind == "push":
            planned.append((kind, f"push {app} {sha[:7]}", ALICE, trigger))
            if rng.random() < 0.2 and len(planned) < total:
                planned.append(("push-retry", f"push {app} {sha[:7]}", ALICE, trigger))
        elif kind == "diagnose":
            planned.append((kind, f"diagnose {app}", ADMIN, trigger))
        elif kind == "outsider":
            planned.append((kind, f"push {app} {sha[:7]}", MALLORY, trigger))
        else:
            planned.append((kind, kind, ALICE, trigger))
    return planned[:total]


def burst(sender: SlackSender, planned: list[tuple[str, str, str, str]], seconds: float) -> Burst:
    """Send the commands evenly over `seconds` (each on its own thread, as Slack's edge does)."""
    gap = seconds / max(1, len(planned))
    started = time.monotonic()

    def one(index: int) -> Sent:
        kind, text, user, trigger = planned[index]
        time.sleep(max(0.0, started + index * gap - time.monotonic()))
        began = time.monotonic()
        answer = sender.slash_command(text, user_id=user, trigger_id=trigger)
        body = answer.json() if answer.status_code == 200 else {}
        return Sent(
            kind, trigger, time.monotonic() - began, answer.status_code, str(body.get("text"))
        )

    with ThreadPoolExecutor(max_workers=64) as pool:
        return Burst(list(pool.map(one, range(len(planned)))))

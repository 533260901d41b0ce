"""`/ecr promote` off the request thread: refusals at once, "already there" in the answer, a copy
told in its thread, and an answer that came too late told in the thread instead."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from bot.domain import commands as cmd
from bot.domain.access import Access
from bot.domain.approvals import Approval
from bot.domain.cancel import CancelToken
from bot.domain.commit_diff import CommitDiff
from bot.domain.environments import HOME, Environment, NamedRegistry
from bot.domain.errors import NotAuthorized, UsageError
from bot.domain.locks import Lock, Locked, refusal
from bot.domain.on_behalf import OnBehalf, current_on_behalf
from bot.domain.promotion import (
    CopyFailed,
    ImageRef,
    NeedsApproval,
    Promoted,
    PromotionPlan,
    PromotionRequest,
    PromotionStep,
)
from bot.domain.scan_gate import Verdict
from bot.services.promotion_requests import PromotionRequests
from bot.services.promotions import PromotionService
from tests.fakes import app_spec

HOME_REGISTRY = NamedRegistry(HOME, "123456789012", "eu-west-2")
PROD = Environment("prod", NamedRegistry("prod", "210987654321", "eu-west-2", "arn:r"), "my-app")
APP = app_spec(name="my-app", repository="my-app", environments=(PROD,), pushers=("U0ALICE",))
DIGEST = "sha256:" + "a" * 64


class NoGroups:
    def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


class Copier:
    def __init__(self, gate: threading.Event | None = None, fail: bool = False) -> None:
        self.images: dict[str, str] = {f"{HOME_REGISTRY.host}/my-app:1.0.0": DIGEST}
        self.gate, self.fail, self.copies = gate, fail, 0
        self.tags: list[str] = []  # tags pointed at a manifest the target holds: no copy
        self.for_whom: set[OnBehalf | None] = set()  # who each AWS call would be made for

    def digest(self, image: ImageRef) -> str | None:
        self.for_whom.add(current_on_behalf.get())
        if self.gate is not None:
            self.gate.wait(5)
        return self.images.get(str(image))

    def copy(self, source: ImageRef, target: ImageRef, cancel: CancelToken | None = None) -> None:
        if self.fail:
            raise CopyFailed("denied: not authorized")
        self.copies += 1
        self.for_whom.add(current_on_behalf.get())
        self.images[str(target)] = source.reference

    def tag(self, image: ImageRef, digest: str) -> None:
        self.tags.append(str(image))
        self.for_whom.add(current_on_behalf.get())
        self.images[str(image)] = digest


class Notices:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.done = threading.Event()
        self.commits: CommitDiff | None = None

    def started(self, request: PromotionRequest, planned: PromotionPlan) -> None:
        self.seen.append("started")

    def step(self, request: PromotionRequest, step: PromotionStep, planned: PromotionPlan) -> None:
        self.seen.append(step.value)

    def gated(self, request: PromotionRequest, planned: PromotionPlan, verdict: Verdict) -> None:
        self.seen.append(f"gate {verdict.reason()}")

    def finished(self, request: PromotionRequest, done: Promoted) -> None:
        self.seen.append(f"finished copied={done.copied} {done.uris[0]}")
        self.done.set()

    def failed(self, request: PromotionRequest, reason: str) -> None:
        self.seen.append(f"failed {reason}")
        self.done.set()

    def awaiting(
        self,
        request: PromotionRequest,
        planned: PromotionPlan,
        approval: Approval,
        commits: CommitDiff | None = None,
    ) -> None:
        self.seen.append(f"awaiting {approval.digest}")
        self.commits = commits
        self.done.set()

    def cancelled(self, request: PromotionRequest, by: str) -> None:
        self.seen.append(f"cancelled by {by}")
        self.done.set()


def requests(copier: Copier, locks: list[Lock] | None = None, wait_s: float = 2.0):  # type: ignore[no-untyped-def]
    def locked(app: str, environment: str | None, what: str) -> None:
        for lock in locks or []:
            raise refusal(lock, what)

    access = Access(("U0ADMIN",), NoGroups())
    service = PromotionService({"my-app": APP}.get, access, copier, HOME_REGISTRY, locked)
    notices = Notices()
    pool = ThreadPoolExecutor(1)
    return PromotionRequests(service, notices, pool, lambda: [APP], wait_s), notices


def ask(user: str = "U0ALICE", ref: str = "1.0.0") -> PromotionRequest:
    return PromotionRequest("my-app", ref, "prod", user, "C0PLATFORM")


def test_a_copy_goes_on_in_a_thread_resolve_copy_verify() -> None:
    copier = Copier()
    flow, notices = requests(copier)
    assert flow.submit(ask()) is None  # the answer: "progress in the thread"
    assert notices.done.wait(5)
    target = f"{PROD.registry.host}/my-app:1.0.0"
    assert notices.seen == ["started", "resolved", "copying", "verified",
                            f"finished copied=True {target}"]  # fmt: skip
    again = flow.submit(ask())  # already there: answered at once, nothing copied
    assert again is not None and not again.copied and again.plan.digest == DIGEST
    assert copier.copies == 1
    # Every read and the copy were made for the requester, on the pool's thread.
    assert copier.for_whom == {OnBehalf("U0ALICE", "my-app", "promote-prod")}


def test_refusals_are_answered_at_once_and_nothing_runs() -> None:
    copier = Copier()
    lock = Lock("my-app", "prod", "freeze", "U0BOB", datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    flow, notices = requests(copier, [lock])
    with pytest.raises(Locked, match="locked by `U0BOB` at 2026-03-02 09:30 UTC: freeze"):
        flow.submit(ask())
    with pytest.raises(NotAuthorized):
        requests(copier)[0].submit(ask(user="U0MALLORY"))
    with pytest.raises(UsageError, match="is not in the home registry"):
        requests(copier)[0].submit(ask(ref="9.9.9"))
    assert copier.copies == 0 and notices.seen == []


def test_an_answer_that_came_too_late_is_told_in_the_thread() -> None:
    gate = threading.Event()
    copier = Copier(gate)
    copier.images[f"{PROD.registry.host}/my-app:1.0.0"] = DIGEST  # already there, slowly
    flow, notices = requests(copier, wait_s=0.05)
    assert flow.submit(ask()) is None
    gate.set()
    assert notices.done.wait(5)
    assert notices.seen[0] == "started" and "finished copied=False" in notices.seen[-1]


def test_a_failed_copy_is_told_in_plain_words() -> None:
    flow, notices = requests(Copier(fail=True))
    assert flow.submit(ask()) is None
    assert notices.done.wait(5)
    assert notices.seen[-1] == "failed denied: not authorized"


def test_an_environment_with_approvers_is_refused_in_the_terminal() -> None:
    guarded = dataclasses.replace(PROD, approvers=("S0LEADS",))
    app = dataclasses.replace(APP, environments=(guarded,))
    copier = Copier()
    service = PromotionService({"my-app": app}.get, Access((), NoGroups()), copier, HOME_REGISTRY)
    with pytest.raises(NeedsApproval, match="asks for `approvers`"):
        service.promote("my-app", "1.0.0", "prod", user=None)
    assert copier.copies == 0


def test_the_grammar() -> None:
    assert cmd.parse("promote my-app 1.4.0 prod") == cmd.Promote("my-app", "1.4.0", "prod")
    for words in ("promote my-app 1.4.0", "promote my-app ../x prod", "promote My-App 1 prod"):
        with pytest.raises(UsageError):
            cmd.parse(words)

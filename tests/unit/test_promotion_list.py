"""Recent promotions in `/ecr jobs` and App Home (issue #16): who sees which (the jobs rule),
where each comes from, its approval, and how the lines read. Fakes through the constructors:
the in-memory run store, an approvals dict, a directory of fixed groups."""

from __future__ import annotations

import dataclasses
import itertools
from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from bot.adapters.promotion_store import MemoryPromotionRunStore
from bot.adapters.slack_directory import StaticDirectory
from bot.domain.access import Access
from bot.domain.approvals import Approval, ApprovalState
from bot.domain.environments import Environment, NamedRegistry
from bot.domain.promotion_runs import ListedPromotion, PromotionRun, RunState
from bot.render import home as home_render
from bot.render import promotion_list as render
from bot.render import push as push_render
from bot.services.home import HomeService
from bot.services.promotion_list import PromotionListing
from tests.fakes import app_spec

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HOME = NamedRegistry("home", "123456789012", "eu-west-2")
STAGING = Environment("staging", NamedRegistry("staging", "111111111111", "eu-west-2"), "r")
PROD = Environment("prod", NamedRegistry("prod-eu", "222222222222", "eu-west-2"), "r", ("S0LEADS",))
APP = app_spec(name="my-app", environments=(STAGING, PROD), pushers=("U0ALICE",))
OTHER = app_spec(name="other-app", environments=(STAGING,), pushers=("U0CAROL",))
APPS = {"my-app": APP, "other-app": OTHER}
ACCESS = Access(("U0ADMIN",), StaticDirectory({"S0LEADS": frozenset({"U0BOB"})}))


def run(
    run_id: str, app: str = "my-app", env: str = "prod", by: str = "U0ALICE", **extra: Any
) -> PromotionRun:
    fields: dict[str, Any] = {"state": RunState.RUNNING, "updated_at": T0, **extra}
    return PromotionRun(run_id, app, "1.4.0", env, by, "C0", **fields)


def approval(run_id: str, state: ApprovalState = ApprovalState.PENDING, **extra: Any) -> Approval:
    return Approval(run_id, "my-app", "1.4.0", "prod", "sha256:" + "a" * 64, ("1.4.0",),
                    "U0ALICE", "C0", T0, T0 + timedelta(minutes=30), state, **extra)  # fmt: skip


def listing(*runs: PromotionRun, approvals: dict[str, Approval] | None = None, **kw: Any) -> Any:
    store = MemoryPromotionRunStore()
    for index, each in enumerate(runs):  # the first given is the newest
        store.add(dataclasses.replace(each, updated_at=T0 - timedelta(seconds=index)))
    return PromotionListing(store, ACCESS, APPS.get, (approvals or {}).get, **kw)


# --- selection -------------------------------------------------------------------------------


def test_the_jobs_rule_decides_who_sees_which_promotion() -> None:
    runs = (
        run("mine"),
        run("carols", app="other-app", by="U0CAROL"),
        run("gone", app="left-app", by="U0CAROL"),  # an app that left the catalog
        run("gone-mine", app="left-app", by="U0ALICE"),
    )
    seen = {u: [p.run.id for p in listing(*runs).recent(u)] for u in ("U0ALICE", "U0CAROL")}
    assert seen["U0ALICE"] == ["mine", "gone-mine"]  # her own always, pusher of my-app
    assert seen["U0CAROL"] == ["carols", "gone"]  # own, and nothing of my-app
    assert [p.run.id for p in listing(*runs).recent("U0ADMIN")] == [r.id for r in runs]
    assert listing(*runs).recent("U0STRANGER") == []


def test_the_newest_come_first_and_the_count_is_bounded() -> None:
    runs = [run(f"r{i}") for i in range(40)]
    assert [p.run.id for p in listing(*runs).recent("U0ALICE", 3)] == ["r0", "r1", "r2"]
    assert len(listing(*runs).recent("U0ALICE", 1000)) == 25  # SHOWN
    assert listing(*runs).recent("U0ALICE", -5) == []


def test_source_and_target_come_from_the_catalog() -> None:
    first, second, gone = listing(
        run("a", env="staging"), run("b"), run("c", env="qa"), run("d", app="left-app")
    ).recent("U0ADMIN")[:3]
    assert (first.source, first.source_registry, first.target_registry) == (
        "home", "home", "staging")  # fmt: skip
    assert (second.source, second.source_registry, second.target_registry) == (
        "staging", "staging", "prod-eu")  # fmt: skip
    assert (gone.source, gone.target_registry) == (None, None)  # no such environment


def test_a_waiting_promotion_names_who_may_approve_and_until_when() -> None:
    approvals = {"w": approval("w"), "g": approval("g", gate=("CVE-1",))}
    waiting, gated = listing(
        run("w", state=RunState.AWAITING), run("g", state=RunState.AWAITING), approvals=approvals
    ).recent("U0ALICE")
    assert waiting.approvers == ("S0LEADS",) and waiting.expires_at == T0 + timedelta(minutes=30)
    assert waiting.approval is ApprovalState.PENDING and not waiting.admins_only
    assert gated.admins_only


def test_a_decided_promotion_says_who_decided_and_drops_the_approvers() -> None:
    approvals = {
        "ok": approval("ok", ApprovalState.APPROVED, decided_by="U0BOB"),
        "no": approval("no", ApprovalState.REJECTED, decided_by="U0BOB"),
        "late": approval("late", ApprovalState.EXPIRED),
    }
    ok, no, late = listing(
        run("ok", state=RunState.SUCCEEDED, digest="sha256:" + "b" * 64),
        run("no", state=RunState.FAILED),
        run("late", state=RunState.FAILED),
        approvals=approvals,
    ).recent("U0ALICE")
    assert (ok.approval, ok.decided_by, ok.approvers) == (ApprovalState.APPROVED, "U0BOB", ())
    assert no.approval is ApprovalState.REJECTED and late.expires_at is None


def test_threads_are_linked_while_time_allows_and_a_failed_read_leaves_the_line() -> None:
    clock = itertools.count(0.0, 0.3).__next__  # each look at the clock: 0.3 s later
    asked: list[tuple[str, str]] = []

    def link(channel: str, ts: str) -> str:
        asked.append((channel, ts))
        return f"https://x.slack.com/archives/{channel}/p{ts}"

    runs = [run(f"r{i}", thread_ts=f"1.{i}") for i in range(4)] + [run("bare")]
    listed = listing(*runs, link=link, clock=clock).recent("U0ALICE")
    assert listed[0].link == "https://x.slack.com/archives/C0/p1.0"
    assert [p.link is not None for p in listed] == [True, False, False, False, False]
    assert len(asked) == 1  # past the deadline Slack is not asked

    def broken(channel: str, ts: str) -> str:
        raise RuntimeError("boom")

    def failing(run_id: str) -> Approval:
        raise RuntimeError("db")

    store = MemoryPromotionRunStore()
    store.add(run("x", thread_ts="1.0"))
    (alone,) = PromotionListing(store, ACCESS, APPS.get, failing, broken).recent("U0ALICE")
    assert alone.link is None and alone.approval is None


# --- rendering -------------------------------------------------------------------------------


def listed(state: RunState, **extra: Any) -> ListedPromotion:
    fields = {"source": "staging", "source_registry": "staging", "target_registry": "prod-eu"}
    return ListedPromotion(run("r", state=state), **{**fields, **extra})


def test_the_lines_read_as_a_platform_engineer_expects() -> None:
    waiting = listed(RunState.AWAITING, approvers=("S0LEADS", "U0BOB"),
                     expires_at=T0, link="https://x.slack.com/archives/C0/p1")  # fmt: skip
    assert render.line(waiting) == (
        "✋ <https://x.slack.com/archives/C0/p1|promotion> · *my-app* `1.4.0` · staging → prod "
        "(prod-eu) · awaiting approval by <!subteam^S0LEADS>, <@U0BOB> until 10:00 UTC · asked by "
        "<@U0ALICE>"
    ).replace("10:00", f"{T0:%H:%M}")
    assert "an admin (the scan gate failed)" in render.line(
        listed(RunState.AWAITING, admins_only=True)
    )
    rejected = listed(RunState.FAILED, approval=ApprovalState.REJECTED, decided_by="U0BOB")
    assert "rejected by <@U0BOB>" in render.line(rejected)
    expired = listed(RunState.FAILED, approval=ApprovalState.EXPIRED)
    assert "approval expired unanswered" in render.line(expired)
    cancelled = ListedPromotion(run("r", state=RunState.CANCELLED, ended_by="U0CAROL"))
    assert "· ? → prod ·" in render.line(cancelled) and "cancelled by <@U0CAROL>" in render.line(
        cancelled
    )
    done = dataclasses.replace(
        listed(RunState.SUCCEEDED, approval=ApprovalState.APPROVED, decided_by="U0BOB"),
        run=run("r", state=RunState.SUCCEEDED, digest="sha256:" + "c" * 64),
    )
    assert "succeeded `sha256:cccccccccccc`, approved by <@U0BOB>" in render.line(done)


def test_many_approvers_are_counted_not_all_named() -> None:
    many = tuple(f"U0P{i}" for i in range(8))
    assert render.deciders(many, admins_only=False).endswith("<@U0P4> and 3 more")


def test_a_link_that_is_no_permalink_is_left_out() -> None:
    for url in ("http://x", "https://x|<!channel>", "https://x> <!here", "javascript:x"):
        assert render.line(listed(RunState.RUNNING, link=url)).startswith("🔄 promotion ·")


def test_hostile_values_are_escaped_and_each_block_stays_within_slacks_limits() -> None:
    evil = "<!channel> & `x` " * 100
    hostile = ListedPromotion(
        dataclasses.replace(run("r", state=RunState.AWAITING), app=evil, ref=evil,
                            environment=evil, requested_by=evil),
        source=evil, source_registry=evil, target_registry=evil, approvers=(evil,) * 9,
    )  # fmt: skip
    blocks = push_render.jobs_table([], [hostile] * 10)
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
        assert "<!channel>" not in str(block) and len(block["text"]["text"]) <= 3000
    assert len(blocks) == 12  # the pushes' section, the heading, one per promotion


def test_jobs_without_promotions_say_how_to_start_one() -> None:
    (_, promotions) = push_render.jobs_table([], [])
    assert "/ecr promote" in promotions["text"]["text"]


# --- App Home --------------------------------------------------------------------------------


class Inline(Executor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(fn(*args, **kwargs))
        return done


def test_app_home_lists_the_promotions_and_who_may_approve_the_waiting_ones() -> None:
    published: list[Any] = []
    waiting = approval("w")
    promotions = listing(run("w", state=RunState.AWAITING), approvals={"w": waiting})
    service = HomeService(
        lambda user, n: [], lambda: [], lambda: [APP], ACCESS, published.append, Inline(),
        approvals=lambda user: [waiting], promotions=promotions.recent,
    )  # fmt: skip
    service.show("U0ALICE")  # the requester, a pusher of the app
    service.show("U0BOB")  # an approver, not a pusher: the jobs rule keeps the list from him
    alice, bob = published
    assert [p.run.id for p in alice.promotions] == ["w"] and bob.promotions == ()
    assert alice.approvers == bob.approvers == {"w": ("S0LEADS",)}
    page = str(home_render.home(alice, lambda job: None))
    assert "*Recent promotions*" in page and "<!subteam^S0LEADS> may Approve or Reject" in page
    assert "awaiting approval by <!subteam^S0LEADS>" in page
    assert "<!subteam^S0LEADS> may Approve" in str(home_render.home(bob, lambda job: None))


def test_app_home_shows_the_rest_when_the_promotions_cannot_be_read() -> None:
    def broken(user: str, limit: int) -> list[ListedPromotion]:
        raise RuntimeError("db down")

    service = HomeService(
        lambda user, n: [], lambda: [], lambda: [APP], ACCESS, lambda view: None, Inline(),
        promotions=broken,
    )  # fmt: skip
    view = service.view("U0ALICE")
    assert view.promotions == () and "No promotions yet." in str(home_render.home(view, print))


# --- the SQL store ---------------------------------------------------------------------------


def test_the_sql_store_lists_the_last_updated_first_and_bounds_the_count(tmp_path: Any) -> None:
    from bot.adapters.promotion_store import SqlPromotionRunStore
    from bot.adapters.store import SqlJobStore

    jobs = SqlJobStore(f"sqlite:///{tmp_path}/ecrbot.db")
    store = SqlPromotionRunStore(jobs.engine, writer=jobs.writer)
    for index in range(5):
        store.add(run(f"r{index}", updated_at=T0 + timedelta(minutes=index)))
    store.touch("r1", T0 + timedelta(hours=1))  # a step made: it moves up
    assert [r.id for r in store.recent(3)] == ["r1", "r4", "r3"]
    assert store.recent(0) == [] and len(store.recent(10**6)) == 5
    assert store.recent(1)[0].updated_at.tzinfo is not None
    jobs.engine.dispose()

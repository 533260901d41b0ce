"""The Slack reporter through the outbox, against the Slack stand-in over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.adapters.slack_outbox import SlackOutbox
from bot.adapters.slack_progress import SlackReporter
from bot.adapters.store import SqlJobStore
from bot.domain.models import Job, JobState, LayerProgress, ProgressEvent, PushResult, Step
from tests.standins.slack_api import SlackStandIn

pytestmark = pytest.mark.integration


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def make(slack: SlackStandIn, tmp_path: Path) -> tuple[SlackReporter, SlackOutbox, SqlJobStore]:
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=5)
    outbox = SlackOutbox()
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db")
    return SlackReporter(client, outbox, store, "C0PLATFORM", min_edit_interval=0.05), outbox, store


def a_job(store: SqlJobStore) -> Job:
    job, _ = store.create(
        "k",
        {
            "app": "my-app",
            "sha": "1a2b3c4",
            "version": "1.4.0",
            "requested_by": "U0ALICE",
            "channel": "C0PLATFORM",
        },
    )
    return job


def play_push(reporter: SlackReporter, store: SqlJobStore, job: Job, layers: int = 40) -> None:
    """A push as the pipeline reports it: many build steps and many layer updates."""
    reporter.queued(job)
    reporter.started(job)
    for step, message in ((Step.CHECKOUT, "Checked out"), (Step.AUTHENTICATE, "Authenticated")):
        reporter.progress(job, ProgressEvent(step, "finished", message))
    for n in range(1, 31):
        reporter.progress(
            job, ProgressEvent(Step.BUILD, "progress", f"Step {n}/30 : RUN x", build_step=(n, 30))
        )
    reporter.progress(job, ProgressEvent(Step.BUILD, "finished", "Built"))
    for done in range(layers + 1):
        state = tuple(
            LayerProgress(f"l{i}", "Pushed" if i < done else "Pushing", 5, 10)
            for i in range(layers)
        )
        reporter.progress(job, ProgressEvent(Step.PUSH, "progress", "", layers=state))
    reporter.progress(job, ProgressEvent(Step.PUSH, "finished", "Pushed"))
    reporter.progress(job, ProgressEvent(Step.VERIFY, "finished", "Verified"))
    result = PushResult(("h/my-app:1a2b3c4",), "sha256:abc", 10, 2.0, "1a2b3c4")
    # The worker marked it running when it started it; only a running job's outcome is written.
    assert store.transition(job.id, JobState.RUNNING, only_from=(JobState.QUEUED,))
    finished = store.finish(job.id, JobState.SUCCEEDED, result=result)
    assert finished is not None  # still this process's running job: the write took
    reporter.finished(finished)


def test_a_push_with_many_layers_costs_at_most_15_slack_calls(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    reporter, outbox, store = make(slack, tmp_path)
    job = a_job(store)
    play_push(reporter, store, job, layers=40)
    assert outbox.flush(20)
    assert slack.count() <= 15, [c.method for c in slack.calls()]
    parent = [m for m in slack.messages() if "thread_ts" not in m]
    assert len(parent) == 1 and "sha256:abc" in str(parent[0]["blocks"])
    replies = [m["text"] for m in slack.messages() if "thread_ts" in m]
    assert any("Push: 40/40 layers done" in text for text in replies)
    assert replies[-1].startswith("✅ Done")


def test_429_pauses_for_retry_after_and_nothing_is_lost(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    reporter, outbox, store = make(slack, tmp_path)
    slack.fail_next("chat.update", status=429, retry_after=1, times=2)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    job = a_job(store)
    started = datetime.now(UTC)
    play_push(reporter, store, job)
    assert outbox.flush(30)
    # Edits coalesce, so how many chat.update calls there are depends on timing; every 429
    # that was answered must have been waited out and retried.
    answered_429 = slack.count(status=429)
    assert answered_429 >= 1 and outbox.stats.rate_limited == answered_429
    assert outbox.stats.dropped == 0
    assert (datetime.now(UTC) - started).total_seconds() >= 1
    replies = [m["text"] for m in slack.messages() if "thread_ts" in m]
    assert replies[-1].startswith("✅ Done")


def test_server_errors_and_an_outage_never_lose_the_outcome(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    reporter, outbox, store = make(slack, tmp_path)
    slack.fail_next("chat.postMessage", status=500, times=2)
    slack.outage(503)
    job = a_job(store)
    play_push(reporter, store, job)  # returns at once: the build never waits on Slack
    slack.end_outage()
    assert outbox.flush(60)
    parent = [m for m in slack.messages() if "thread_ts" not in m]
    assert len(parent) == 1 and "✅" in parent[0]["text"]
    reloaded = store.get(job.id)
    assert reloaded is not None and reloaded.thread_ts == parent[0]["ts"]

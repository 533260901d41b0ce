"""Messages about push jobs: the parent message, thread replies, live progress, job lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ButtonElement

from bot.domain.models import Job, JobState, LayerProgress, ProgressEvent, Step
from bot.domain.promotion_runs import ListedPromotion
from bot.render import promotion_list
from bot.render.blocks import Blocks, actions, button, confirm, context, section, to_dicts
from bot.render.escape import code, code_block, mention, mrkdwn, text
from bot.render.ids import ActionId

ICONS = {
    JobState.QUEUED: "⏳",
    JobState.RUNNING: "🔄",
    JobState.SUCCEEDED: "✅",
    JobState.FAILED: "❌",
    JobState.CANCELLED: "🛑",
    JobState.INTERRUPTED: "⚠️",
}


MAX_URIS = 10  # tags shown on a parent message


def short(sha: str) -> str:
    return sha[:7]


def headline(job: Job) -> str:
    """`my-app @ 1a2b3c4 → ECR, requested by @alice` (the parent message's fallback text)."""
    version = f" ({text(job.version)})" if job.version else ""
    return (
        f"{ICONS[job.state]} {text(job.app)} @ {text(short(job.sha))}{version} → ECR, "
        f"requested by {mention(job.requested_by)}"
    )


def metadata(job: Job) -> dict[str, Any]:
    """Slack message metadata naming the job, so the message can be found from the job."""
    return {
        "event_type": "ecrbot_job",
        "event_payload": {"job_id": job.id, "app": job.app, "state": job.state.value},
    }


def parent(job: Job, waiting_behind: int | None = None, promote_to: str | None = None) -> Blocks:
    """The parent message: who asked for what, then the outcome once there is one
    (`promote_to`: the app's first environment, offered on a pushed image)."""
    version = f" {code(job.version)}" if job.version else ""
    blocks: list[Block] = [
        section(
            f"{ICONS[job.state]} *{text(job.app)}* @ {code(short(job.sha))}{version} → ECR, "
            f"requested by {mention(job.requested_by)}"
        )
    ]
    if job.state is JobState.SUCCEEDED and job.result:
        blocks += _succeeded(job, promote_to)
    elif job.state is JobState.FAILED and job.failure:
        blocks += _failed(job)
    elif job.state in (JobState.CANCELLED, JobState.INTERRUPTED):
        why = "was cancelled" if job.state is JobState.CANCELLED else "was interrupted by a restart"
        blocks.append(context(f"Job {job.id} {why}."))
        blocks.append(actions(_retry(job)))
    else:
        note = f"waiting for job {waiting_behind} (same app) to finish · " if waiting_behind else ""
        blocks.append(context(f"Job {job.id} · {note}progress in the thread"))
        blocks.append(actions(_cancel(job)))
    return to_dicts(blocks)


def _cancel(job: Job) -> ButtonElement:
    sure = confirm(
        f"Cancel job {job.id}?",
        f"This stops the {text(job.app)} push at the step it is on; nothing is pushed after.",
        "Cancel the push",
    )
    return button("Cancel", ActionId.CANCEL, str(job.id), style="danger", confirm=sure)


def _succeeded(job: Job, promote_to: str | None = None) -> list[Block]:
    result = job.result
    assert result is not None
    uris = "\n".join(code(uri) for uri in result.image_uris[:MAX_URIS])
    what = "pushed" if result.pushed else "already in ECR (no build, no push)"
    lines = [
        uris,
        f"*Digest* {code(result.digest)}",
        f"*Size* {_size(result.size_bytes)} · *Took* {result.duration_s:.1f} s · {what}",
    ]
    if result.signing:
        lines.append(f"*Signing* {mrkdwn(result.signing)}")
    blocks: list[Block] = [section("\n".join(lines))]
    if result.warnings:
        blocks.append(context("⚠️ " + "\n⚠️ ".join(mrkdwn(w) for w in result.warnings)))
    buttons = [button("Run diagnose", ActionId.DIAGNOSE, job.app)]
    if promote_to:
        # The value names ecrbot's own record (the job), never the image: the click promotes
        # what this job pushed, whatever a crafted payload says.
        buttons.insert(0, _promote(job, promote_to))
    blocks.append(actions(*buttons, block_id=f"job-{job.id}"))
    return blocks


def _promote(job: Job, environment: str) -> ButtonElement:
    # Environment names are catalog names (at most 63 characters); Slack caps a confirm
    # dialog's title at 100 characters and its button at 30, a button's text at 75.
    label = f"Promote to {environment}"
    sure = confirm(
        label[:99] + "?",
        f"This copies the {text(job.app)} image this job pushed, by digest, to "
        f"{text(environment)} (the environment's approvers are asked first if it has any).",
        label[:30],
    )
    value = f"{job.id}:{environment}"
    return button(label[:75], ActionId.PROMOTE, value, style="primary", confirm=sure)


def _failed(job: Job) -> list[Block]:
    failure = job.failure
    assert failure is not None
    step = f" at *{failure.step.value}*" if failure.step else ""
    blocks: list[Block] = [
        section(f"*Failed{step}: {mrkdwn(failure.title)}*\n{mrkdwn(failure.explanation)}"),
        section(f"*Fix:* {mrkdwn(failure.fix)}"),
    ]
    if failure.log_tail:
        blocks.append(section("*Last lines of the log*\n" + code_block(failure.log_tail)))
    if failure.error_id:
        blocks.append(context(f"Error id {code(failure.error_id)}"))
    blocks.append(actions(_retry(job)))
    return blocks


def _retry(job: Job) -> ButtonElement:
    return button("Retry", ActionId.RETRY, str(job.id), style="primary")


def milestone(event: ProgressEvent) -> str:
    """A thread reply for a step that finished (or a warning)."""
    icon = "⚠️" if event.kind == "warning" else "✅"
    return f"{icon} {mrkdwn(event.message)}"


@dataclass
class LiveState:
    """What the in-place progress message shows: the build step, then the layers."""

    build_step: tuple[int, int] | None = None
    build_line: str = ""
    build_done: str = ""
    layers: tuple[LayerProgress, ...] = ()
    push_done: str = ""

    def apply(self, event: ProgressEvent) -> None:
        if event.step is Step.BUILD:
            if event.build_step:
                self.build_step, self.build_line = event.build_step, event.message
            if event.kind == "finished":
                self.build_done = event.message
        elif event.step is Step.PUSH:
            if event.layers:
                self.layers = event.layers
            if event.kind == "finished":
                self.push_done = event.message


def live(state: LiveState) -> str:
    """The progress message, edited in place rather than flooding the thread."""
    lines = []
    if state.build_done:
        lines.append(f"✅ Build: {mrkdwn(state.build_done)}")
    elif state.build_step:
        current, total = state.build_step
        lines.append(f"🔨 Build step {current}/{total}: {code(state.build_line, 150)}")
    else:
        lines.append("🔨 Build starting")
    if state.layers or state.push_done:
        done = sum(1 for layer in state.layers if layer.done)
        sent = sum(layer.current for layer in state.layers if not layer.done)
        total = sum(layer.total for layer in state.layers if not layer.done)
        icon = "✅" if state.push_done else "⬆️"
        progress = f", {_size(sent)} of {_size(total)} in flight" if total else ""
        lines.append(f"{icon} Push: {done}/{len(state.layers)} layers done{progress}")
    return "\n".join(lines)


def final_reply(job: Job) -> str:
    """The last thread reply: the outcome in one line (details are on the parent message)."""
    if job.state is JobState.SUCCEEDED and job.result:
        return f"✅ Done in {job.result.duration_s:.1f} s: {code(job.result.digest)}"
    if job.state is JobState.FAILED and job.failure:
        step = f" at {job.failure.step.value}" if job.failure.step else ""
        title = mrkdwn(job.failure.title)
        return f"❌ Failed{step}: {title}. Details and a Retry button are above."
    if job.state is JobState.CANCELLED:
        return "🛑 Cancelled; the build was stopped."
    if job.state is JobState.INTERRUPTED and job.failure:  # e.g. its worker stopped
        return f"⚠️ Interrupted: {mrkdwn(job.failure.explanation)} Press Retry to run it again."
    if job.state is JobState.INTERRUPTED:
        return "⚠️ Interrupted: ecrbot restarted while this job ran. Press Retry to run it again."
    return f"{ICONS[job.state]} {job.state.value}"


def outcome_for_asker(job: Job) -> str:
    """A job's outcome in one ephemeral message, for when its channel thread was refused."""
    lines = [f"Job {job.id}: {headline(job)}", final_reply(job)]
    if job.state is JobState.SUCCEEDED and job.result:
        lines += [code(uri) for uri in job.result.image_uris[:MAX_URIS]]
    elif job.state is JobState.FAILED and job.failure:
        lines += [mrkdwn(job.failure.explanation), f"*Fix:* {mrkdwn(job.failure.fix)}"]
    return "\n".join(lines)


def waiting(behind: int) -> str:
    return f"⏳ Waiting for job {behind} (a push of the same app) to finish first."


def jobs_table(jobs: list[Job], promotions: Sequence[ListedPromotion] = ()) -> Blocks:
    """`/ecr jobs`: recent jobs, one line each, then recent promotions, one section each."""
    if not jobs:
        pushes = section("No jobs yet. Start one with `/ecr push <app> <sha>`.")
    else:
        lines = []
        for job in jobs:
            took = f"{job.duration_s:.0f} s" if job.duration_s is not None else "-"
            version = f" {text(job.version)}" if job.version else ""
            lines.append(
                f"{ICONS[job.state]} *{job.id}* {job.state.value} · {text(job.app)} "
                f"{code(short(job.sha))}{version} · {mention(job.requested_by)} · {took}"
            )
        pushes = section("*Recent jobs*\n" + "\n".join(lines))
    return to_dicts([pushes, *promotion_list.blocks(tuple(promotions))])


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"

"""A promotion in Slack: the acknowledgement, the thread's parent, a reply per step, the end."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.domain.promotion import Promoted, PromotionPlan, PromotionRequest, PromotionStep
from bot.domain.promotion_runs import PromotionRun
from bot.domain.scan_gate import SHOWN, Verdict, duration
from bot.render.blocks import Blocks, actions, button, confirm, context, section, to_dicts
from bot.render.escape import code, mention, text
from bot.render.ids import ActionId


def _what(request: PromotionRequest) -> str:
    return f"{code(request.app, 100)} {code(request.ref, 128)} to {code(request.environment, 63)}"


def accepted(request: PromotionRequest) -> str:
    """The acknowledgement when the copy goes on in a thread."""
    return f":truck: Promoting {_what(request)}: progress in the thread below."


def already(done: Promoted) -> str:
    """Nothing to copy: the target holds the same digest under every tag."""
    where = ", ".join(code(uri, 300) for uri in done.uris)
    return (
        f":white_check_mark: Already in {code(done.plan.target.name, 63)}: same digest "
        f"{code(done.plan.digest, 80)} ({where}). Nothing was copied."
    )


def parent(
    request: PromotionRequest, state: str, offer: ActionId | None = None
) -> tuple[str, Blocks]:
    """The thread's parent message: who asked for what, how it stands, and its button: Cancel
    while it runs or waits, Retry once it failed or was cancelled (`offer`)."""
    head = f"{state} Promotion of {_what(request)}"
    blocks: list[Block] = [
        section(f"*{head}*"),
        context(f"Asked by {mention(request.user)} · by digest, no rebuild"),
    ]
    if offer is ActionId.PROMOTION_CANCEL and request.id:
        stop = confirm("Cancel this promotion?", "Nothing more is copied.", "Cancel it")
        cancel = button("Cancel", offer.value, request.id, style="danger", confirm=stop)
        blocks.append(actions(cancel, block_id="promotion"))
    elif offer is ActionId.PROMOTION_RETRY and request.id:
        blocks.append(actions(button("Retry", offer.value, request.id), block_id="promotion"))
    return head, to_dicts(blocks)


def cancelled(request: PromotionRequest, by: str) -> str:
    """The thread's last word on a cancelled promotion."""
    return (
        f":octagonal_sign: Cancelled by {mention(by)}: the promotion of {_what(request)} stops "
        "here, and nothing more is copied. Retry asks for it again."
    )


def cancel_requested(run: PromotionRun) -> str:
    """The ephemeral answer to the Cancel click."""
    what = f"{code(run.app, 100)} {code(run.ref, 128)} to {code(run.environment, 63)}"
    return f":octagonal_sign: Cancelled the promotion of {what}."


def step(which: PromotionStep, planned: PromotionPlan) -> str:
    """One reply per step: resolve, (wait for the scan,) copy, verify."""
    if which is PromotionStep.SCANNING:
        gate = planned.target.gate
        timeout = duration(gate.scan_timeout_s) if gate else "a while"
        return (
            f":hourglass_flowing_sand: The scan of {code(planned.digest, 80)} is in progress: "
            f"waiting up to {timeout} for its findings (the environment's scan gate)"
        )
    if which is PromotionStep.RESOLVED:
        return (
            f":mag: Resolved to {code(planned.digest, 80)} in {code(planned.source.registry.name)}"
            f" ({code(planned.source.registry.host)}/{code(planned.source.repository)})"
        )
    if which is PromotionStep.COPYING:
        targets = ", ".join(code(planned.target_ref(tag), 300) for tag in planned.tags)
        return (
            f":arrows_counterclockwise: Copying by digest to {targets} (skopeo; blobs the "
            "target has are not sent)"
        )
    return f":white_check_mark: Verified: the target's digest is {code(planned.digest, 80)}"


def finished(done: Promoted) -> str:
    """The final reply: the target URI and the digest."""
    uris = ", ".join(code(uri, 300) for uri in done.uris)
    how = f"copied in {done.seconds:.1f} s" if done.copied else "already there, nothing copied"
    return (
        f":white_check_mark: Promoted to {code(done.plan.target.name, 63)}: {uris} "
        f"@ {code(done.plan.digest, 80)} ({how})"
    )


def failed(request: PromotionRequest, reason: str) -> str:
    return f":x: Promotion of {_what(request)} failed: {text(reason, 1500)}"


def gated(verdict: Verdict, overridable: bool) -> str:
    """The scan gate's verdict: its counts, or the findings that fail it (at most SHOWN,
    each name from AWS in a code span) and who may override it."""
    if verdict.passed:
        return f":shield: {text(verdict.summary, 300)}"
    named = ", ".join(f"{code(f.name, 100)} ({text(f.why(), 60)})" for f in verdict.failing[:SHOWN])
    more = len(verdict.failing) - SHOWN
    tail = f" and {more} more" if more > 0 else ""
    findings = f": {named}{tail}" if named else ""
    then = (
        "Only an admin's approval overrides it (audited)." if overridable else "Nothing was copied."
    )
    return f":no_entry: Refused: {text(verdict.summary, 300)}{findings}. {then}"

"""A promotion's outcome for a terminal and as JSON (`ecrbot promote [--format json]`).

Apart from the Block Kit in `promotion.py`, so the command never imports slack_sdk.
"""

from __future__ import annotations

import json

from bot.domain.promotion import Promoted


def fields(done: Promoted, ref: str) -> dict[str, object]:
    """What a promotion did, as plain values (the JSON's keys)."""
    return {
        "app": done.plan.app,
        "ref": ref,
        "environment": done.plan.target.name,
        "digest": done.plan.digest,
        "source": str(done.plan.source),
        "targets": list(done.uris),
        "result": "copied" if done.copied else "already_there",
        "seconds": round(done.seconds, 3),
    }


def as_text(done: Promoted, ref: str) -> str:
    """For `ecrbot promote`: what happened, then the digest, where from and where to."""
    env = done.plan.target.name
    head = (
        f"Promoted {done.plan.app} {ref} to {env} in {done.seconds:.2f} s"
        if done.copied
        else f"Already in {env}: same digest, nothing copied ({done.seconds:.2f} s)"
    )
    lines = [head, f"  digest  {done.plan.digest}", f"  from    {done.plan.source}"]
    lines += [f"  to      {uri}" for uri in done.uris]
    return "\n".join(lines)


def as_json(done: Promoted, ref: str) -> str:
    """For `ecrbot promote --format json`: one object (see `fields`)."""
    return json.dumps(fields(done, ref), indent=2)


def failure_json(app: str, ref: str, environment: str, error: str) -> str:
    """The JSON a refused or failed promotion prints (its words also go to stderr)."""
    return json.dumps(
        {"app": app, "ref": ref, "environment": environment, "result": "failed", "error": error},
        indent=2,
    )

"""What a promotion carries and where it comes from: the other tag of a digest is ecrbot's own
record of the push that made it (never the registry's word), and a Promote button promotes the
version a job pushed, else its SHA tag."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.errors import UserError
from bot.domain.models import Job, JobState, PushResult
from bot.domain.promotion import promotion_ref, pushed_tags

AT = datetime(2026, 12, 1, tzinfo=UTC)
SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
HOST = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/my-app"


def pushed(digest: str, *tags: str, app: str = "my-app", version: str | None = "1.4.0") -> Job:
    result = PushResult(tuple(f"{HOST}:{t}" for t in tags), digest, 1, 1.0, SHA)
    return Job(1, app, SHA, version, "U0ALICE", None, JobState.SUCCEEDED, AT, result=result)


def test_the_tags_of_the_push_that_made_the_digest_never_latest() -> None:
    jobs = [
        pushed("sha256:other", "0" * 40, "1.3.0"),
        pushed("sha256:d", SHA, "1.4.0", "latest"),
        pushed("sha256:d", "ffff", app="another-app"),
    ]
    assert pushed_tags(jobs, "my-app", "sha256:d") == (SHA, "1.4.0")
    assert pushed_tags(jobs, "another-app", "sha256:d") == ("ffff",)
    assert pushed_tags(jobs, "my-app", "sha256:ci-pushed") == ()  # ecrbot didn't push it


def test_only_a_succeeded_push_counts_and_hostile_tags_are_dropped() -> None:
    failed = replace(pushed("sha256:d", SHA), state=JobState.FAILED)
    assert pushed_tags([failed], "my-app", "sha256:d") == ()
    odd = pushed("sha256:d", SHA, "1.4.0 && rm -rf")
    assert pushed_tags([odd], "my-app", "sha256:d") == (SHA,)


def test_the_promote_button_promotes_the_version_else_the_sha_tag() -> None:
    assert promotion_ref(pushed("sha256:d", SHA, "1.4.0")) == "1.4.0"
    assert promotion_ref(pushed("sha256:d", SHA[:7], version=None)) == SHA[:7]
    with pytest.raises(UserError, match="no pushed image"):
        promotion_ref(replace(pushed("sha256:d", SHA), state=JobState.FAILED, result=None))

"""The pure parts of a role session for a person: SourceIdentity, session name and tags."""

from __future__ import annotations

import threading

import pytest

from bot.domain.on_behalf import (
    APP_TAG,
    JOB_TAG,
    MAX_TAGS,
    OnBehalf,
    SessionValueRefused,
    acting_for,
    checked_identity,
    current_on_behalf,
    session_tags,
    source_identity,
)


def test_a_slack_user_is_the_source_identity() -> None:
    assert source_identity("U012AB3CD") == "U012AB3CD"
    assert source_identity("W012AB3CD", "T0001") == "W012AB3CD@T0001"


@pytest.mark.parametrize(
    "user",
    ["", "U", "alice", "U0ALICE ", "U0AL:ICE", "aws:U0ALICE", "U" + "A" * 40, "U0ALICE\n"],
)
def test_what_is_not_a_slack_user_id_is_refused(user: str) -> None:
    with pytest.raises(SessionValueRefused):
        source_identity(user)


def test_a_bad_team_is_refused() -> None:
    with pytest.raises(SessionValueRefused):
        source_identity("U0ALICE", "team one")


@pytest.mark.parametrize("value", ["a", "x" * 65, "has space", "é-accent", "aws:x", "AWS:x"])
def test_sts_limits_on_identities(value: str) -> None:
    with pytest.raises(SessionValueRefused):
        checked_identity(value)


def test_the_session_name_fits_in_64_characters_and_names_the_job() -> None:
    who = OnBehalf("U0ALICE", "my-app", "push-42")
    assert who.session_name == "ecrbot-U0ALICE-push-42"
    long = OnBehalf("U0ALICE", "my-app", "promote:" + "p" * 100)
    assert len(long.session_name) == 64
    assert long.session_name.startswith("ecrbot-U0ALICE-promote_ppp")


def test_tags_name_the_app_and_the_job_and_fit_sts() -> None:
    who = OnBehalf("U0ALICE", "my-app", "push-42")
    assert who.tags == ((APP_TAG, "my-app"), (JOB_TAG, "push-42"))
    odd = OnBehalf("U0ALICE", "a/b é\t<x>" + "z" * 300, "j")
    value = dict(odd.tags)[APP_TAG]
    assert value.startswith("a/b é__x_zz")  # a tab and <> can't be in a tag; é can
    assert len(value) == 256


def test_tag_keys_are_checked_not_mended() -> None:
    with pytest.raises(SessionValueRefused):
        session_tags({"aws:app": "x"})
    with pytest.raises(SessionValueRefused):
        session_tags({"App": "x", "app": "y"})  # keys are case-insensitive in STS
    with pytest.raises(SessionValueRefused):
        session_tags({"bad*key": "x"})
    with pytest.raises(SessionValueRefused):
        session_tags({f"k{i}": "v" for i in range(MAX_TAGS + 1)})
    assert len(session_tags({f"k{i}": "v" for i in range(MAX_TAGS)})) == MAX_TAGS


def test_the_person_is_set_for_the_work_only_and_per_thread() -> None:
    who = OnBehalf("U0ALICE", "my-app", "push-1")
    seen: list[OnBehalf | None] = []
    assert acting_for(who, current_on_behalf.get) == who
    assert current_on_behalf.get() is None
    other = threading.Thread(target=lambda: seen.append(current_on_behalf.get()))
    other.start()
    other.join()
    assert seen == [None]

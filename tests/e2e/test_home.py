"""App Home end to end: `app_home_opened` publishes the tab; its Push button opens a modal whose
submission checks the SHA in the app's repository and starts one push, however often sent."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.e2e.harness import ALICE, MALLORY, processes, wait_until
from tests.e2e.world import World
from tests.standins.slack_client import home_action_payload, view_submission_payload


def view_of(call: Any) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def home_event(user: str) -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}


def push_values(app: str, sha: str, version: str = "") -> dict[str, Any]:
    return {
        "app": {"app": {"type": "static_select", "selected_option": {"value": app}}},
        "sha": {"sha": {"type": "plain_text_input", "value": sha}},
        "version": {"version": {"type": "plain_text_input", "value": version or None}},
    }


def test_home_shows_jobs_and_its_push_modal_checks_the_sha_and_pushes_once(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sender = world.sender
    assert sender is not None
    job_id = world.push(world.sample.shas[0])
    world.wait_finished(job_id)

    sender.event(home_event(ALICE))
    published = world.slack.wait_for("views.publish")
    home = view_of(published)
    assert published.params["user_id"] == ALICE and home["type"] == "home"
    assert f"job {job_id}" in json.dumps(home) and world.app in json.dumps(home)

    sender.interaction(home_action_payload("ecr_home_push", "push"))
    modal = view_of(world.slack.wait_for("views.open"))
    options = [o["value"] for o in modal["blocks"][0]["element"]["options"]]
    assert options == [world.app]

    wrong = sender.interaction(
        view_submission_payload("ecr_push_modal", push_values(world.app, "deadbee"))
    )
    assert wrong.status_code == 200 and wrong.elapsed.total_seconds() < 3
    assert wrong.json()["response_action"] == "errors"
    assert "deadbee" in wrong.json()["errors"]["sha"]

    not_hex = sender.interaction(
        view_submission_payload("ecr_push_modal", push_values(world.app, "latest"))
    )
    assert "not a git SHA" in not_hex.json()["errors"]["sha"]

    sha = world.sample.shas[0]
    values = push_values(world.app, sha, "9.9.9")
    form = view_submission_payload("ecr_push_modal", values)
    # A double submit: the same modal (view id) sent twice, each with its own trigger.
    twice = view_submission_payload("ecr_push_modal", values, view_id=form["view"]["id"])
    first, again = sender.interaction(form), sender.interaction(twice)
    assert first.text in ("", "{}") and again.text in ("", "{}")
    jobs = wait_until(lambda: [j for j in world.jobs() if j.get("version") == "9.9.9"] or None)
    assert len(jobs) == 1


def test_home_buttons_for_an_outsider(world: World) -> None:
    world.start_bot()
    sender = world.sender
    assert sender is not None
    sender.event(home_event(MALLORY))
    home = json.dumps(view_of(world.slack.wait_for("views.publish")))
    assert "ecr_home_push" not in home and "may not push or diagnose" in home

    # A stale or forged click is refused in the DM, and no modal opens.
    sender.interaction(home_action_payload("ecr_home_push", "push", user_id=MALLORY))
    dm = world.slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.params.get("channel") == MALLORY
    )
    assert "may not push" in str(dm.params)
    assert world.slack.count("views.open") == 0


def test_the_push_form_asks_who_before_it_looks_at_the_commit(world: World) -> None:
    world.start_bot()
    sender = world.sender
    assert sender is not None
    mirror = world.tmp / "work" / "sources" / f"{world.app}.git"
    answers = []
    for sha in (world.sample.shas[0], "deadbee"):  # a real commit and no commit alike
        answer = sender.interaction(
            view_submission_payload("ecr_push_modal", push_values(world.app, sha), user_id=MALLORY)
        )
        answers.append(answer.json())
    assert answers[0] == answers[1]  # nothing tells whether the SHA exists
    assert answers[0]["response_action"] == "errors" and "sha" not in answers[0]["errors"]
    assert "may not push" in answers[0]["errors"]["app"]
    assert not mirror.exists()  # and the bot fetched nothing for them


def test_the_same_form_submitted_with_another_commit_is_refused(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sender = world.sender
    assert sender is not None
    first, second = world.sample.shas[0], world.sample.commit("FROM scratch\n", "second")
    form = view_submission_payload("ecr_push_modal", push_values(world.app, first, "1.0.1"))
    other = view_submission_payload(
        "ecr_push_modal", push_values(world.app, second, "1.0.1"), view_id=form["view"]["id"]
    )
    assert sender.interaction(form).text in ("", "{}")
    refused = sender.interaction(other).json()
    assert refused["response_action"] == "errors"
    assert "already started job" in refused["errors"]["app"]
    jobs = wait_until(lambda: [j for j in world.jobs() if j.get("version") == "1.0.1"] or None)
    assert [j["sha"] for j in jobs] == [first]


@contextmanager
def silent_git_remote() -> Iterator[str]:
    """A git:// server that accepts connections and never answers: a remote that hangs."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"git://127.0.0.1:{server.getsockname()[1]}/slow.git"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def test_a_commit_check_against_a_hanging_remote_is_stopped_not_abandoned(world: World) -> None:
    with silent_git_remote() as url:
        world.apps[world.app]["source"] = url
        world.start_bot(ECRBOT_WORKERS="1")
        sender = world.sender
        assert sender is not None
        for version in ("2.0.0", "2.0.1"):
            answer = sender.interaction(
                view_submission_payload(
                    "ecr_push_modal", push_values(world.app, "abc1234", version)
                )
            )
            assert answer.status_code == 200 and answer.elapsed.total_seconds() < 3
        # The form's git children were killed at the deadline; only the first job's clone
        # (the push checks the commit itself) may still wait on the remote.
        time.sleep(0.5)
        assert len(processes("git", "clone", "--bare", "--quiet", "--", url)) <= 1
        # App Home is not held up behind them.
        world.slack.clear()
        started = time.monotonic()
        sender.event(home_event(ALICE))
        world.slack.wait_for("views.publish", timeout=10)
        assert time.monotonic() - started < 5

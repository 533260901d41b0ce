"""Start-up warm-up (issue #19): what the first requests would do inside their acks is done at
start, and /readyz says ready only once it is."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, BoltRequest
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.config import Settings, load_catalog
from bot.entrypoints.app import EcrbotApp
from bot.entrypoints.server import favour_requests
from bot.runtime.ack_first import AckFirst
from bot.runtime.warmup import WarmUp, settle_heap
from tests.fakes import FakeEngine, FakeRegistry, RecordingReporter
from tests.standins.slack_client import SlackSender, slash_command_payload

ROOT = Path(__file__).resolve().parents[2]
SECRET = "unit-signing-secret"


def test_a_piece_is_pending_until_it_ends_and_a_failed_one_counts_as_done() -> None:
    warmup = WarmUp()
    release = threading.Event()
    warmup.run("slow", release.wait)
    warmup.run("broken", lambda: 1 / 0)
    assert not warmup.wait(0.2)
    assert warmup.pending() == ["slow"]  # the broken one is logged and done
    release.set()
    assert warmup.wait(5.0) and warmup.pending() == []


def test_readyz_waits_for_the_warm_up(tmp_path: Path) -> None:
    from bot.bootstrap import build_services

    settings = Settings(database_url=f"sqlite:///{tmp_path}/bot.db", work_dir=str(tmp_path))
    engine = FakeEngine()
    services = build_services(
        settings,
        catalog=load_catalog(ROOT / "ecrbot.example.yml"),
        engine=engine,
        registry=FakeRegistry(engine),
        reporter=RecordingReporter(),
    )
    services.start()
    try:
        release = threading.Event()
        services.warmup.run("slack_auth_test", release.wait)
        assert services.readiness()["slack_auth_test"] == "RuntimeError: warming up"
        release.set()
        assert services.warmup.wait(5.0)
        assert set(services.readiness().values()) == {"ok"}
        assert "slack_auth_test" not in services.readiness()
    finally:
        services.stop(0)


class CountingClient(WebClient):
    """auth.test answered from memory, counted."""

    def __init__(self) -> None:
        super().__init__(token="xoxb-unit-0123456789")
        self.auth_tests = 0

    def auth_test(self, **kwargs: Any) -> SlackResponse:
        self.auth_tests += 1
        data = {"ok": True, "team_id": "T0TEST", "user_id": "UBOT", "bot_id": "BBOT"}
        return SlackResponse(
            client=self,
            http_verb="POST",
            api_url="auth.test",
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )


def _app(client: CountingClient) -> EcrbotApp:
    services = SimpleNamespace(ack_first=AckFirst(), audit=SimpleNamespace(record=lambda _: None))
    app = EcrbotApp(
        services,  # type: ignore[arg-type]
        client=client,
        signing_secret=SECRET,
        token_verification_enabled=False,
        process_before_response=True,
    )

    @app.command("/other")
    def other(ack: Ack) -> None:
        ack("fine")

    return app


def _requests(app: EcrbotApp, count: int) -> list[int]:
    sender = SlackSender("http://unused", SECRET)
    statuses: list[int] = []

    def one() -> None:
        body = urlencode(slash_command_payload("hi", command="/other"))
        ts = str(int(time.time()))
        headers: dict[str, str | Sequence[str]] = {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": sender.sign(body.encode(), int(ts)),
        }
        statuses.append(app.dispatch(BoltRequest(body=body, headers=headers)).status)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_after_warm_up_no_request_asks_auth_test() -> None:
    client = CountingClient()
    app = _app(client)
    app.warm()
    app.warm()  # once is enough
    assert client.auth_tests == 1
    # Bolt asks auth.test through a client of its own per request (slack.com here, which this
    # test can't reach: a 500): every request answered means none asked.
    assert _requests(app, 8) == [200] * 8
    assert client.auth_tests == 1


def test_the_start_up_heap_is_frozen_so_full_collections_skip_it() -> None:
    try:
        settle_heap()
        assert gc.get_freeze_count() > 1000  # this test process's modules, at least
    finally:
        gc.unfreeze()


def test_threads_take_shorter_turns_at_the_gil_than_cpythons_default() -> None:
    intervals: list[float] = []
    favour_requests(Settings.model_validate({}), intervals.append)
    favour_requests(Settings.model_validate({"ECRBOT_SWITCH_INTERVAL_MS": "5"}), intervals.append)
    assert intervals == [0.001, 0.005]  # 1 ms unless told; CPython's own is 5 ms


def test_a_wsgi_request_is_in_flight_until_its_answer_is_sent() -> None:
    """Background work that yields to requests (AckFirst.pause) waits until the server has
    written the answer and closed its body, and a request that raises is no longer counted."""
    acks = AckFirst(max_wait_s=5.0)
    closed: list[bool] = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def answer(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [])
        return Body([b"ok"])

    def broken(environ: dict[str, Any], start_response: Any) -> Body:
        raise RuntimeError("boom")

    body = acks.wsgi(answer)({}, lambda *_: None)
    assert list(body) == [b"ok"]
    started = time.monotonic()
    acks.pause(0.04)  # the answer is built, not yet sent: background work waits
    assert time.monotonic() - started >= 0.15
    body.close()  # type: ignore[attr-defined]
    body.close()  # type: ignore[attr-defined]  # a second close ends nothing twice
    assert closed == [True, True]
    started = time.monotonic()
    acks.pause()
    assert time.monotonic() - started < 0.1
    with pytest.raises(RuntimeError):
        acks.wsgi(broken)({}, lambda *_: None)
    started = time.monotonic()
    acks.pause()
    assert time.monotonic() - started < 0.1


def test_background_work_waits_for_a_quiet_moment_after_the_last_request() -> None:
    """In a burst the request threads are all between two requests for a fraction of a
    millisecond at times; background work waits for `quiet_s` without a request, not for one
    instant of none, and is never held past `max_wait_s`."""
    acks = AckFirst(max_wait_s=5.0, quiet_s=0.3)
    started = time.monotonic()
    acks.pause()  # nothing has been in flight: at once
    assert time.monotonic() - started < 0.1
    with acks.request():
        pass
    started = time.monotonic()
    acks.pause()  # a request just ended: until it has been quiet for 0.3 s
    assert 0.25 <= time.monotonic() - started < 1.0
    started = time.monotonic()
    acks.pause()  # quiet since: at once
    assert time.monotonic() - started < 0.1

    bounded = AckFirst(max_wait_s=0.1, quiet_s=5.0)
    with bounded.request():
        pass
    started = time.monotonic()
    bounded.pause()  # never past max_wait_s, however long the quiet moment
    assert time.monotonic() - started < 1.0

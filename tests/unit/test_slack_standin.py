"""The Slack stand-in and signed sender, exercised with the real slack_sdk clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from slack_bolt import Ack, App, Respond
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from tests.standins.slack_api import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    MAX_TEXT,
    SlackStandIn,
    load_method_scopes,
    manifest_bot_scopes,
)
from tests.standins.slack_client import SlackSender, slash_command_payload

SECRET = "s3cret"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*building* `app:1.2`"}}]


def _new_threads(before: set[threading.Thread], grace: float = 1.0) -> list[threading.Thread]:
    """Threads started since `before` that are still alive after a short grace period."""
    deadline = time.monotonic() + grace
    while True:
        new = [t for t in threading.enumerate() if t not in before]
        if not new or time.monotonic() > deadline:
            return new
        time.sleep(0.02)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    before = set(threading.enumerate())
    with SlackStandIn() as server:
        yield server
    assert _new_threads(before) == []


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=standin.api_url)


# Everything the stand-in answers, so channel and limit tests are not about scopes.
ALL_SCOPES = sorted(
    {scope for scopes in load_method_scopes().values() for scope in scopes} | {"chat:write.public"}
)


@contextmanager
def started(scopes: list[str] | None = None) -> Iterator[tuple[SlackStandIn, WebClient]]:
    """A stand-in granted `scopes` (the manifest's when None) and a bot client on it."""
    with SlackStandIn(scopes=scopes) as server:
        yield server, WebClient(token="xoxb-test", base_url=server.api_url)


def slack_error(call: Callable[[], Any]) -> dict[str, Any]:
    """The body of the Slack error `call` raises (it must raise one)."""
    with pytest.raises(SlackApiError) as raised:
        call()
    assert raised.value.response.status_code == 200
    body: dict[str, Any] = raised.value.response.data
    return body


def test_post_and_update_are_recorded_with_decoded_blocks(
    standin: SlackStandIn, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C0PLATFORM", text="building", blocks=BLOCKS)
    reply = client.chat_postMessage(channel="C0PLATFORM", text="log", thread_ts=first["ts"])
    client.chat_update(channel="C0PLATFORM", ts=first["ts"], text="done", blocks=[])

    assert first["ts"] == "1790000000.000100"
    assert reply["ts"] > first["ts"]
    assert reply["message"]["thread_ts"] == first["ts"]
    post = standin.calls("chat.postMessage")[0]
    assert post.params["blocks"] == BLOCKS
    assert post.token == "xoxb-test"
    assert post.status == 200
    update = standin.wait_for("chat.update")
    assert update.params == {
        "channel": "C0PLATFORM",
        "ts": first["ts"],
        "text": "done",
        "blocks": [],
    }
    assert standin.messages("C0PLATFORM")[0]["text"] == "done"


def test_form_encoded_calls_and_slack_errors(standin: SlackStandIn, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == "UBOT"
    attachments = [{"text": "x"}]
    client.chat_postEphemeral(
        channel="C0PLATFORM", user="U0ALICE", text="hi", attachments=attachments
    )
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("bogus.method")
    with pytest.raises(SlackApiError) as bad_token:
        WebClient(token="nope", base_url=standin.api_url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C0PLATFORM", ts="1.2", text="x")

    assert standin.calls("chat.postEphemeral")[0].params["attachments"] == attachments
    assert unknown.value.response["error"] == "unknown_method"
    assert bad_token.value.response["error"] == "invalid_auth"
    assert missing.value.response["error"] == "message_not_found"
    # users.info needs users:read, which the shipped manifest does not grant.
    assert slack_error(lambda: client.users_info(user="U0ALICE"))["error"] == "missing_scope"
    with started(["users:read"]) as (_, reader):
        assert reader.users_info(user="U0ALICE")["user"]["name"] == "alice"


def test_429_reaches_webclient_as_slack_api_error(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0PLATFORM", text="hi")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert standin.count("chat.postMessage", status=429) == 1
    client.chat_postMessage(channel="C0PLATFORM", text="hi")
    assert [c.status for c in standin.calls()] == [429, 200]


def test_rate_limit_retry_handler_succeeds_after_retry(standin: SlackStandIn) -> None:
    retrying = WebClient(
        token="xoxb-test",
        base_url=standin.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    standin.fail_next("chat.postMessage", status=429, retry_after=0)

    assert retrying.chat_postMessage(channel="C0PLATFORM", text="hi")["ok"]
    assert [c.status for c in standin.calls("chat.postMessage")] == [429, 200]


def test_server_errors_outage_and_rate_limit(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail_next("auth.test", status=500)
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 500

    standin.outage()
    with pytest.raises(SlackApiError) as during:
        client.users_info(user="U0ALICE")
    standin.end_outage()
    assert during.value.response.status_code == 503
    assert client.auth_test()["ok"]

    standin.rate_limit("chat.postMessage", per_second=1)
    client.chat_postMessage(channel="C0PLATFORM", text="one")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C0PLATFORM", text="two")
    assert limited.value.response.status_code == 429
    assert standin.count(status=429) == 1


def test_usergroups(standin: SlackStandIn, client: WebClient) -> None:
    standin.set_usergroup("S0ADMINS", ["U0ALICE", "U0BOB"])

    assert client.usergroups_users_list(usergroup="S0ADMINS")["users"] == ["U0ALICE", "U0BOB"]
    with pytest.raises(SlackApiError) as raised:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert raised.value.response["error"] == "no_such_subteam"


def test_response_url_posts_are_recorded(standin: SlackStandIn) -> None:
    url = standin.response_url("cmd-1")

    WebhookClient(url).send(text="queued", response_type="ephemeral")

    call = standin.wait_for(lambda c: c.method == "response_url", timeout=2)
    assert call.params == {"text": "queued", "response_type": "ephemeral", "name": "cmd-1"}


def test_files_upload_v2_round_trip(standin: SlackStandIn, client: WebClient) -> None:
    done = client.files_upload_v2(channel="C0PLATFORM", content="build log", filename="build.log")

    assert done["file"]["name"] == "build.log"
    assert standin.uploads() == {done["file"]["id"]: b"build log"}
    assert [c.method for c in standin.calls()] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]


def test_socket_mode_client_receives_envelope_and_acks(standin: SlackStandIn) -> None:
    web = WebClient(token="xoxb-test", base_url=standin.api_url)
    socket = SocketModeClient(app_token="xapp-1-test", web_client=web)

    def ack(client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload={"text": req.payload["text"]})
        )

    socket.socket_mode_request_listeners.append(ack)
    try:
        socket.connect()
        standin.wait_for_socket_client(timeout=2)
        envelope_id = standin.send_envelope("slash_commands", slash_command_payload("build app"))
        acked = standin.wait_for_ack(envelope_id, timeout=2)
        session = socket.current_session
        assert session is not None
        deadline = time.monotonic() + 2
        while session.last_ping_pong_time is None and time.monotonic() < deadline:
            time.sleep(0.02)
        pong_seen = session.last_ping_pong_time is not None
    finally:
        # Closing from the server side first wakes the client's blocking recv at once.
        socket.auto_reconnect_enabled = False
        standin.close_socket_clients()
        socket.close()

    assert acked == {"envelope_id": envelope_id, "payload": {"text": "build app"}}
    assert pong_seen, "the client never got a pong for its ping"
    assert standin.calls("apps.connections.open")[0].token == "xapp-1-test"


def test_socket_mode_rejects_unissued_ticket(standin: SlackStandIn) -> None:
    ws_http = standin.ws_url.replace("ws://", "http://")
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    answer = requests.get(f"{ws_http}/link/?ticket=forged", headers=headers, timeout=2)
    assert answer.status_code == 401


def test_signature_verifies_with_slack_sdk() -> None:
    sender = SlackSender("http://127.0.0.1:1", "s3cret")
    body = b"command=%2Fecr&text=build"
    now = int(time.time())

    verifier = SignatureVerifier("s3cret")

    assert verifier.is_valid(body, str(now), sender.sign(body, now))
    assert not verifier.is_valid(body, str(now - 600), sender.sign(body, now - 600))
    assert not SignatureVerifier("other").is_valid(body, str(now), sender.sign(body, now))


@pytest.fixture
def bolt_url(standin: SlackStandIn) -> Iterator[str]:
    """A minimal Bolt app served over HTTP, to check SlackSender against real verification."""
    executor = ThreadPoolExecutor(max_workers=2)
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    app = App(signing_secret=SECRET, client=client, listener_executor=executor)

    @app.command("/ecr")
    def ecr(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(f"queued {command['text']} for {command['user_name']}")

    @app.action("approve")
    def approve(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        respond(f"approved {body['actions'][0]['value']}")

    @app.event("app_mention")
    def mention(event: dict[str, Any]) -> None:
        pass

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            resp = app.dispatch(BoltRequest(body=body, headers=dict(self.headers.items())))
            self.send_response(resp.status)
            self.end_headers()
            self.wfile.write(resp.body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()
    executor.shutdown()


def test_sender_requests_pass_bolt_verification(standin: SlackStandIn, bolt_url: str) -> None:
    sender = SlackSender(bolt_url, SECRET, response_urls=standin.response_url)

    assert sender.slash_command("build app:1.2").status_code == 200
    queued = standin.wait_for("response_url", timeout=2)
    assert queued.params["text"] == "queued build app:1.2 for alice"
    assert queued.params["name"] == "command-1"
    assert sender.block_action("approve", "req-7").status_code == 200
    approved = standin.wait_for(
        lambda c: str(c.params.get("name")).startswith("action-2--"), timeout=2
    )
    assert approved.params["text"] == "approved req-7"
    mention = {"type": "app_mention", "user": "U0ALICE", "text": "<@UBOT> hi", "ts": "1.2"}
    assert sender.event(mention, retry_num=1).status_code == 200
    assert sender.slash_command("x", timestamp=int(time.time()) - 600).status_code == 401
    assert sender.slash_command("x", signature="v0=" + "0" * 64).status_code == 401


def test_replace_original_edits_the_clicked_message_with_chat_updates_rules(
    standin: SlackStandIn, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="C0PLATFORM", text="approve?", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "approve?"}},
        {"type": "actions", "elements": [{"type": "button", "action_id": "a", "value": "v",
                                          "text": {"type": "plain_text", "text": "Approve"}}]},
    ])  # fmt: skip
    url = standin.response_url(f"action-1--C0PLATFORM--{posted['ts']}")
    closed = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "Approved"}]}]

    def post(where: str, body: dict[str, object]) -> dict[str, object]:
        answer: dict[str, object] = requests.post(where, json=body, timeout=5).json()
        return answer

    bad = post(url, {"replace_original": True, "blocks": [{"text": "no type"}]})
    assert bad["ok"] is False and bad["error"] == "invalid_blocks"
    assert post(url, {"replace_original": True, "text": "done", "blocks": closed}) == {"ok": True}
    (message,) = [m for m in standin.messages() if m["ts"] == posted["ts"]]
    assert message["blocks"] == closed and message["text"] == "done" and message["edited"]
    command = standin.response_url("command-9")
    assert post(command, {"replace_original": True})["error"] == "message_not_found"
    assert post(command, {"text": "hi"}) == {"ok": True}  # an answer, not an edit


# -- scopes ------------------------------------------------------------------------------------


def test_missing_scope_answers_200_with_needed_and_provided(
    standin: SlackStandIn, client: WebClient
) -> None:
    body = slack_error(lambda: client.users_info(user="U0ALICE"))

    assert body == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read",
        "provided": ",".join(manifest_bot_scopes()),
    }
    assert standin.scopes == manifest_bot_scopes()
    assert [c.status for c in standin.calls("users.info")] == [200]


def test_scopes_argument_replaces_the_manifest() -> None:
    with started(["chat:write"]) as (standin, client):
        assert client.chat_postMessage(channel="C0PLATFORM", text="hi")["ok"]
        body = slack_error(lambda: client.usergroups_users_list(usergroup="S0ADMINS"))
        upload = slack_error(lambda: client.files_upload_v2(content="x", filename="x.txt"))
        assert client.auth_test()["ok"]  # no scope needed

    assert body["needed"] == "usergroups:read" and body["provided"] == "chat:write"
    assert upload["needed"] == "files:write"
    assert standin.uploads() == {}


def test_conversation_scopes_follow_the_conversation_type() -> None:
    with started(["channels:read", "channels:history", "chat:write"]) as (standin, client):
        standin.add_channel("G0PRIVATE")
        standin.add_channel("D0ALICE", im_user="U0ALICE")
        assert client.conversations_info(channel="C0PLATFORM")["channel"]["name"] == "platform"
        assert client.conversations_history(channel="C0PLATFORM")["messages"] == []
        private = slack_error(lambda: client.conversations_info(channel="G0PRIVATE"))
        dm = slack_error(lambda: client.conversations_replies(channel="D0ALICE", ts="1.2"))

    assert private["needed"] == "groups:read"
    assert dm["needed"] == "im:history"


def test_every_answered_method_has_a_scope_entry(standin: SlackStandIn) -> None:
    table = load_method_scopes()

    assert [m for m in standin.methods() if m not in table] == []


# -- channels ----------------------------------------------------------------------------------


def test_unknown_and_invisible_channels_are_channel_not_found() -> None:
    with started(ALL_SCOPES) as (standin, client):
        standin.add_channel("G0SECRET", member=False)
        standin.add_channel("C0HIDDEN", private=True, member=False)
        standin.add_channel("G0OURS")
        errors = {
            channel: slack_error(partial(client.chat_postMessage, channel=channel, text="x"))
            for channel in ("C0NOPE", "G0SECRET", "C0HIDDEN")
        }
        info = slack_error(lambda: client.conversations_info(channel="G0SECRET"))
        upload = slack_error(
            lambda: client.files_upload_v2(channel="C0HIDDEN", content="x", filename="x.txt")
        )
        ours = client.chat_postMessage(channel="G0OURS", text="x")
        ours_info = client.conversations_info(channel="G0OURS")["channel"]

    assert {c: e["error"] for c, e in errors.items()} == dict.fromkeys(
        ("C0NOPE", "G0SECRET", "C0HIDDEN"), "channel_not_found"
    )
    assert info["error"] == upload["error"] == "channel_not_found"
    assert ours["channel"] == "G0OURS"
    assert ours_info["is_private"] and ours_info["is_member"]


def test_public_channel_the_bot_is_not_in_needs_chat_write_public() -> None:
    with started() as (standin, client):  # the manifest grants chat:write.public
        standin.add_channel("C0RANDOM", member=False)
        posted = client.chat_postMessage(channel="C0RANDOM", text="done")
        reply = client.chat_postMessage(channel="C0RANDOM", text="log", thread_ts=posted["ts"])
        edited = client.chat_update(channel="C0RANDOM", ts=posted["ts"], text="edited")
        # Sharing a file needs membership, whatever chat:write.public allows.
        upload = slack_error(
            lambda: client.files_upload_v2(
                channel="C0RANDOM", thread_ts=posted["ts"], content="x", filename="x.txt"
            )
        )
    with started(["chat:write"]) as (standin_without, client_without):
        standin_without.add_channel("C0RANDOM", member=False)
        refused = slack_error(lambda: client_without.chat_postMessage(channel="C0RANDOM", text="x"))

    assert reply["ok"] and edited["ok"]
    assert [m["text"] for m in standin.messages("C0RANDOM")] == ["edited", "log"]
    assert upload["error"] == "not_in_channel"
    assert refused["error"] == "not_in_channel"


def test_archived_channels_refuse_posts_edits_and_files(standin: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    standin.add_channel("C0OLD")
    posted = client.chat_postMessage(channel="C0OLD", text="before")
    standin.add_channel("C0OLD", archived=True)

    post = slack_error(lambda: client.chat_postMessage(channel="C0OLD", text="x"))
    edit = slack_error(lambda: client.chat_update(channel="C0OLD", ts=posted["ts"], text="x"))
    upload = slack_error(
        lambda: client.files_upload_v2(channel="C0OLD", content="x", filename="x.txt")
    )

    assert post["error"] == "is_archived"
    assert edit["error"] == "is_inactive"  # what chat.update documents for archived channels
    assert upload["error"] == "is_archived"


def test_only_the_bots_own_dms_are_postable(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_channel("D0ALICE", im_user="U0ALICE")
    standin.add_channel("D0THEIRS")  # a DM between two people

    assert client.chat_postMessage(channel="D0ALICE", text="hi")["channel"] == "D0ALICE"
    assert client.chat_postMessage(channel="U0ALICE", text="hi")["channel"] == "D0ALICE"
    assert client.chat_postMessage(channel="U0BOB", text="hi")["channel"] == "D0BOB"
    for channel in ("D0THEIRS", "D0NOPE"):
        body = slack_error(partial(client.chat_postMessage, channel=channel, text="x"))
        assert body["error"] == "channel_not_found", channel
    with pytest.raises(ValueError):
        standin.add_channel("C0X", im_user="U0ALICE")


def test_a_thread_ts_that_is_no_message_posts_an_invisible_reply(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.add_channel("C0OTHER")
    elsewhere = client.chat_postMessage(channel="C0OTHER", text="parent")
    parent = client.chat_postMessage(channel="C0PLATFORM", text="parent")

    lost = client.chat_postMessage(channel="C0PLATFORM", text="lost", thread_ts="1790000099.000100")
    wrong = client.chat_postMessage(channel="C0PLATFORM", text="wrong", thread_ts=elsewhere["ts"])
    kept = client.chat_postMessage(channel="C0PLATFORM", text="kept", thread_ts=parent["ts"])

    assert lost["ok"] and wrong["ok"] and kept["ok"]
    assert [m["text"] for m in standin.messages("C0PLATFORM")] == ["parent", "kept"]
    assert [m["text"] for m in standin.orphaned_replies("C0PLATFORM")] == ["lost", "wrong"]


def test_chat_update_of_someone_elses_message(standin: SlackStandIn, client: WebClient) -> None:
    theirs = standin.add_message("C0PLATFORM", "a human wrote this")
    reply = client.chat_postMessage(channel="C0PLATFORM", text="bot reply", thread_ts=theirs)

    body = slack_error(lambda: client.chat_update(channel="C0PLATFORM", ts=theirs, text="x"))

    assert body["error"] == "cant_update_message"
    assert reply["message"]["thread_ts"] == theirs
    assert standin.messages("C0PLATFORM")[0]["text"] == "a human wrote this"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_message_limits(standin: SlackStandIn, client: WebClient) -> None:
    at_limit = [section("x")] * MAX_BLOCKS
    posted = client.chat_postMessage(channel="C0PLATFORM", text="ok", blocks=at_limit)
    client.chat_postMessage(channel="C0PLATFORM", blocks=[section("y" * MAX_SECTION_TEXT)])
    client.chat_postMessage(channel="C0PLATFORM", text="z" * MAX_TEXT)

    too_many = slack_error(
        lambda: client.chat_postMessage(channel="C0PLATFORM", text="x", blocks=at_limit * 2)
    )
    too_long = slack_error(
        lambda: client.chat_postMessage(
            channel="C0PLATFORM", text="x", blocks=[section("y" * (MAX_SECTION_TEXT + 1))]
        )
    )
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}
    too_many_fields = slack_error(
        lambda: client.chat_postMessage(channel="C0PLATFORM", text="x", blocks=[fields])
    )
    text = slack_error(lambda: client.chat_postMessage(channel="C0PLATFORM", text="z" * 40001))
    edit = slack_error(
        lambda: client.chat_update(
            channel="C0PLATFORM", ts=posted["ts"], text="x", blocks=[*at_limit, section("x")]
        )
    )
    ephemeral = slack_error(
        lambda: client.chat_postEphemeral(
            channel="C0PLATFORM", user="U0ALICE", text="z" * (MAX_TEXT + 1)
        )
    )

    assert too_many["error"] == "invalid_blocks"
    assert too_many["errors"] == ["must be less than 51 items [json-pointer:/blocks]"]
    assert too_long["error"] == too_many_fields["error"] == edit["error"] == "invalid_blocks"
    assert too_long["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert text["error"] == ephemeral["error"] == "msg_too_long"
    assert len(standin.messages("C0PLATFORM")) == 3


def test_reading_threads_reactions_and_permalinks() -> None:
    with started(ALL_SCOPES) as (standin, client):
        parent = client.chat_postMessage(channel="C0PLATFORM", text="parent")
        reply = client.chat_postMessage(channel="C0PLATFORM", text="reply", thread_ts=parent["ts"])
        client.chat_postMessage(channel="C0PLATFORM", text="later")
        standin.add_channel("C0RANDOM", member=False)

        history = client.conversations_history(channel="C0PLATFORM")["messages"]
        thread = client.conversations_replies(channel="C0PLATFORM", ts=reply["ts"])["messages"]
        missing = slack_error(lambda: client.conversations_replies(channel="C0PLATFORM", ts="1.2"))
        outside = slack_error(lambda: client.conversations_history(channel="C0RANDOM"))
        client.reactions_add(channel="C0PLATFORM", timestamp=parent["ts"], name="white_check_mark")
        again = slack_error(
            lambda: client.reactions_add(
                channel="C0PLATFORM", timestamp=parent["ts"], name="white_check_mark"
            )
        )
        link = client.chat_getPermalink(channel="C0PLATFORM", message_ts=reply["ts"])
        no_link = slack_error(
            lambda: client.chat_getPermalink(channel="C0PLATFORM", message_ts="1.2")
        )

    assert [m["text"] for m in history] == ["later", "parent"]
    assert [m["text"] for m in thread] == ["parent", "reply"]
    assert missing["error"] == "thread_not_found"
    assert outside["error"] == "not_in_channel"
    assert again["error"] == "already_reacted"
    assert standin.messages("C0PLATFORM")[0]["reactions"][0]["count"] == 1
    assert link["permalink"].endswith(f"?thread_ts={parent['ts']}&cid=C0PLATFORM")
    assert no_link["error"] == "message_not_found"


# -- what the triage, the shortcut and App Home call --------------------------------------------


def test_reading_a_public_thread_needs_channels_history() -> None:
    with started(["chat:write"]) as (_, client):
        parent = client.chat_postMessage(channel="C0PLATFORM", text="my push is broken")
        refused = slack_error(
            lambda: client.conversations_replies(channel="C0PLATFORM", ts=parent["ts"])
        )
    with started() as (_, client):  # the shipped manifest's scopes
        parent = client.chat_postMessage(channel="C0PLATFORM", text="my push is broken")
        thread = client.conversations_replies(channel="C0PLATFORM", ts=parent["ts"])

    assert (refused["error"], refused["needed"]) == ("missing_scope", "channels:history")
    assert [m["text"] for m in thread["messages"]] == ["my push is broken"]


def answer_of(call: Callable[[], Any]) -> dict[str, Any]:
    """The body Slack answered `call` with, ok or not."""
    try:
        body = call().data
    except SlackApiError as error:
        body = error.response.data
    assert isinstance(body, dict)
    return body


def test_every_method_with_a_scope_is_refused_without_it() -> None:
    with started([]) as (_, client):
        answers = {
            method: answer_of(partial(client.api_call, method, json={"channel": "C0PLATFORM"}))
            for method in load_method_scopes()
        }

    for method, scopes in load_method_scopes().items():
        if scopes:
            assert answers[method]["error"] == "missing_scope", method
            assert answers[method]["needed"] in scopes, method
        else:
            assert answers[method].get("error") != "missing_scope", method


def test_views_need_no_scope_but_a_trigger_used_once_and_the_right_view() -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Diagnose"}, "blocks": []}
    home = {"type": "home", "blocks": []}
    with started([]) as (_, client):
        opened = client.views_open(trigger_id="1.2.abc", view=modal)
        again = slack_error(lambda: client.views_open(trigger_id="1.2.abc", view=modal))
        untriggered = slack_error(lambda: client.api_call("views.open", json={"view": modal}))
        home_as_modal = slack_error(lambda: client.views_open(trigger_id="1.3.abc", view=home))
        published = client.views_publish(user_id="U0ALICE", view=home)
        nobody = slack_error(lambda: client.views_publish(user_id="", view=home))
        modal_as_home = slack_error(lambda: client.views_publish(user_id="U0ALICE", view=modal))

    assert opened["view"]["type"] == "modal" and opened["view"]["id"].startswith("V")
    assert again["error"] == "exchanged_trigger_id"
    assert untriggered["error"] == home_as_modal["error"] == "invalid_arguments"
    assert published["view"]["type"] == "home"
    assert nobody["error"] == modal_as_home["error"] == "invalid_arguments"


def test_publishing_home_needs_the_home_tab_enabled() -> None:
    with SlackStandIn(home_tab=False) as standin:
        client = WebClient(token="xoxb-test", base_url=standin.api_url)
        refused = slack_error(
            lambda: client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})
        )

    assert refused["error"] == "not_enabled"
    assert SlackStandIn().home_tab is True  # the shipped manifest enables it

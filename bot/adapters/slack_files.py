"""Files into a message's thread (files.getUploadURLExternal / files.completeUploadExternal)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def upload_to_thread(
    client: WebClient, channel: str, thread_ts: str | None, files: Sequence[dict[str, Any]]
) -> None:
    """Upload `files` into a thread. `chat:write.public` lets the bot post in a public channel
    it is not in, but files need membership (Slack answers `not_in_channel`): join the channel
    (`channels:join`, public channels only) and upload again."""
    try:
        client.files_upload_v2(channel=channel, thread_ts=thread_ts, file_uploads=list(files))
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
        log.info("joining %s to attach files there", channel)
        client.conversations_join(channel=channel)
        client.files_upload_v2(channel=channel, thread_ts=thread_ts, file_uploads=list(files))

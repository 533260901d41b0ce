"""botocore event hooks shared by the AWS adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OnAwsError = Callable[[str, str], None]


def report_errors(client: Any, on_error: OnAwsError | None) -> None:
    """Call `on_error(service, code)` for every AWS answer that is an error (metrics)."""
    if on_error is None:
        return
    service = client.meta.service_model.service_name

    def after_call(parsed: dict[str, Any], **_: Any) -> None:
        code = (parsed.get("Error") or {}).get("Code")
        if code:
            on_error(service, str(code))

    client.meta.events.register("after-call", after_call)

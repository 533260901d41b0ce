"""Logging set-up: secrets are masked in every record, and chatty libraries never log bodies."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.job_context import current_job

# Slack tokens, ECR login tokens (base64 of "AWS:..."), GitHub tokens (classic `ghp_`, `gho_`,
# `ghu_`, `ghs_`, `ghr_` and fine-grained `github_pat_`, as GitHub's "About authentication"
# page describes them, read 2026-12), and HTTP Basic/Bearer credentials.
SECRET = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|QVdTO[A-Za-z0-9+/=]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|(?i:(?:authorization|x-registry-auth)[\"']?\s*[:=]\s*[\"']?)[^\s,\"'}]+(?:\s[^\s,\"'}]+)?"
)
# The password of a URL (`postgresql://ecrbot:PASSWORD@db/ecrbot`, `redis://:PASSWORD@host`):
# the scheme, user and host stay readable.
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")


def mask(text: str) -> str:
    """`text` with every token and URL password replaced by `***`."""
    return URL_PASSWORD.sub(r"\1***@", SECRET.sub("***", text))


# At DEBUG these log whole HTTP bodies, and ECR's answer to get_authorization_token is a login.
QUIET = ("botocore", "boto3", "urllib3", "docker", "s3transfer")


class JobId(logging.Filter):
    """Put the current job id on the record (None outside a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = current_job.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log pipelines (Loki, CloudWatch, ELK) parse."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None)
        if job_id is not None:
            entry["job_id"] = job_id
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with `[job 42]` when inside a job."""

    def format(self, record: logging.LogRecord) -> str:
        job_id = getattr(record, "job_id", None)
        record.job = f" [job {job_id}]" if job_id is not None else ""
        # The whole line, traceback included: an exception's text can carry a token.
        return mask(super().format(record))


class RedactSecrets(logging.Filter):
    """Mask anything token-shaped in the formatted message before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str, style: str = "auto", path: Path | None = None) -> None:
    """Log to stderr (or `path`) at `level`: JSON (`json`, or `auto` off a terminal) or text;
    secrets masked, library internals at INFO at most."""
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path)
    as_json = style == "json" or (style == "auto" and path is None and not sys.stderr.isatty())
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else TextFormatter("%(asctime)s %(levelname)s %(name)s%(job)s %(message)s")
    )
    handler.addFilter(JobId())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))

"""Logging set-up: secrets are masked in every record, and chatty libraries never log bodies."""

from __future__ import annotations

import logging
import re

# Slack tokens, ECR login tokens (base64 of "AWS:..."), and HTTP Basic/Bearer credentials.
SECRET = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|QVdTO[A-Za-z0-9+/=]{8,}"
    r"|(?i:(?:authorization|x-registry-auth)[\"']?\s*[:=]\s*[\"']?)[^\s,\"'}]+(?:\s[^\s,\"'}]+)?"
)
# At DEBUG these log whole HTTP bodies, and ECR's answer to get_authorization_token is a login.
QUIET = ("botocore", "boto3", "urllib3", "docker", "s3transfer")


class RedactSecrets(logging.Filter):
    """Mask anything token-shaped in the formatted message before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRET.sub("***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str) -> None:
    """Log to stderr at `level`; secrets masked, library internals at INFO at most."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))

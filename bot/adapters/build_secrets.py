"""A build's secrets on the bot's side: each file resolved again under the build-secrets
directory, each value read once, and the redaction of those values (and their encoded forms)
from the build's log. The allowlist itself is `domain/build_rules.py`."""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from pathlib import Path

from bot.domain.build_rules import secret_file_problem
from bot.domain.errors import UsageError
from bot.domain.models import BuildSecret
from bot.domain.text import code, plain

MAX_SECRET_BYTES = 512 * 1024  # BuildKit refuses bigger secrets; so do we, before the build
REDACTED = "[secret]"
MIN_ENCODED = 8  # shorter encoded forms of a secret would redact ordinary text


def resolved_files(secrets: tuple[BuildSecret, ...], secrets_dir: Path | None) -> dict[str, str]:
    """Each file secret's real path now, refused unless it is still under the secrets dir."""
    root = os.path.realpath(secrets_dir) if secrets_dir is not None else None
    files = {}
    for secret in secrets:
        if secret.file is None:
            continue
        resolved = os.path.realpath(secret.file)
        if problem := secret_file_problem(resolved, root):
            raise UsageError(
                f"The build secret {code(secret.id)}: {plain(problem, 300)}.",
                "Put the file in ECRBOT_BUILD_SECRETS_DIR, or fix `secrets` in the catalog.",
            )
        files[secret.id] = resolved
    return files


def secret_values(secrets: tuple[BuildSecret, ...], files: dict[str, str]) -> list[str]:
    """Each secret's value, read only to keep it out of the log; refused when absent."""
    values = []
    for secret in secrets:
        if secret.env:
            value = os.environ.get(secret.env)
            if not value:
                raise UsageError(
                    f"The build secret {code(secret.id)} comes from the variable "
                    f"{code(secret.env)}, which is not set for ecrbot.",
                    "Set it in the bot's environment (e.g. from a Kubernetes Secret), or fix "
                    "`secrets` in the catalog.",
                )
        else:
            try:
                with open(files[secret.id], "rb") as file:
                    value = file.read(MAX_SECRET_BYTES + 1).decode("utf-8", "replace")
            except OSError as error:
                raise UsageError(
                    f"The build secret {code(secret.id)} comes from the file "
                    f"{code(secret.file or '')}, which ecrbot can't read "
                    f"({type(error).__name__}).",
                    "Put the file in ECRBOT_BUILD_SECRETS_DIR, readable by the bot, or fix "
                    "`secrets`.",
                ) from error
            if len(value) > MAX_SECRET_BYTES:
                raise UsageError(
                    f"The build secret {code(secret.id)} is over 500 KB.",
                    "BuildKit refuses bigger secrets: mount a smaller file.",
                )
        values.append(value)
    return values


class Redactor:
    """Replaces every line of every secret (3 characters or more) found in a log line, and the
    base64 and URL-encoded forms of each (what `base64 /run/secrets/x` or a URL would show)."""

    def __init__(self, values: list[str]) -> None:
        pieces = {p.strip() for value in values for p in value.splitlines() if len(p) >= 3}
        encoded: set[str] = set()
        for text in pieces | {value for value in values if value.strip()}:
            encoded.update(_encoded_forms(text.encode("utf-8", "replace")))
            encoded.update(
                form
                for form in (urllib.parse.quote(text, safe=""), urllib.parse.quote_plus(text))
                if form != text
            )
        self._forms = sorted((form for form in pieces | encoded if form), key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(form) for form in self._forms)) if self._forms else None
        )

    def __call__(self, line: str) -> str:
        return self._pattern.sub(REDACTED, line) if self._pattern else line

    def cut(self, line: str, limit: int) -> str:
        """`line` redacted and cut to `limit` characters. Where it was cut (here, or by a
        bounded read before) a secret may have been cut too: its start is redacted as well."""
        redacted = self(line)
        if len(redacted) < limit:  # at the limit: it may have been cut by the bounded read
            return redacted
        shown = redacted[:limit]
        for form in self._forms:
            start = max(0, len(shown) - len(form) + 1)
            at = shown.find(form[:3], start)
            while at != -1:
                if form.startswith(shown[at:]):
                    return shown[:at] + REDACTED
                at = shown.find(form[:3], at + 1)
        return shown


def redactor(values: list[str]) -> Redactor:
    """The redactor of a build's secret values."""
    return Redactor(values)


def _encoded_forms(value: bytes) -> set[str]:
    """The part of the base64 of `value` that is the same wherever `value` sits in what is
    encoded: for each of the 3 alignments, the characters that only its bytes determine."""
    forms: set[str] = set()
    for shift in range(3):
        padded = b"\0" * shift + value
        whole = (len(padded) // 3) * 4  # characters of complete 3-byte groups
        skip = (shift * 4 + 2) // 3  # characters that mix in the bytes before `value`
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = encode(padded).decode()[skip:whole]
            if len(core) >= MIN_ENCODED:
                forms.add(core)
    return forms

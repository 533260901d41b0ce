"""Build secrets come only from sources made for them (issue #18): the catalog is refused at
load for every source an attacker tried, the build resolves files again, and the build's log
is redacted of each secret's plain, base64 and URL-encoded forms."""

from __future__ import annotations

import base64
import io
import os
import urllib.parse
from pathlib import Path

import pytest

from bot.adapters.build_secrets import redactor, resolved_files
from bot.adapters.buildkit import MAX_LINE, READ_CHUNK, _lines
from bot.config import Settings, load_catalog
from bot.config_secrets import bot_variables
from bot.domain.errors import ConfigError, UsageError
from bot.domain.models import BuildSecret

CATALOG = """
registry: {account_id: "123456789012", region: eu-west-2}
apps:
  my-app:
    source: https://github.com/acme/my-app.git
    secrets: {leak: {%s}}
"""
IRSA_TOKEN = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "build-secrets"
    folder.mkdir()
    (folder / "npm").write_text("npm-token\n")
    return folder


def load(tmp_path: Path, source: str, secrets_dir: Path | None) -> str:
    path = tmp_path / "ecrbot.yml"
    path.write_text(CATALOG % source)
    load_catalog(path, secrets_dir)
    return "loaded"


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("file: /proc/1/environ", "outside the build-secrets directory"),
        ("file: /proc/self/environ", "outside the build-secrets directory"),
        (f"file: {IRSA_TOKEN}", "outside the build-secrets directory"),
        (f"file: {SA_TOKEN}", "outside the build-secrets directory"),
        ("file: {database}", "outside the build-secrets directory"),
        ("file: escape", "outside the build-secrets directory"),  # a symlink out of the dir
        ("file: ../ecrbot.db", "outside the build-secrets directory"),
        ("file: .", "outside the build-secrets directory"),  # the directory itself
        ("env: GITHUB_TOKEN", "one of ecrbot's own variables"),
        ("env: SLACK_BOT_TOKEN", "one of ecrbot's own variables"),
        ("env: AWS_SECRET_ACCESS_KEY", "one of ecrbot's own variables"),
        ("env: ECRBOT_DATABASE_URL", "one of ecrbot's own variables"),
        ("env: ecrbot_database_url", "one of ecrbot's own variables"),  # read case-blind
        ("env: DATABASE_URL", "one of ecrbot's own variables"),  # a field's own name
        ("env: NPM_TOKEN", "does not start with `ECRBOT_BUILD_SECRET_`"),
        ("env: HOME", "does not start with `ECRBOT_BUILD_SECRET_`"),
    ],
)
def test_every_source_an_attacker_tried_is_refused_at_load(
    tmp_path: Path, secrets_dir: Path, source: str, says: str
) -> None:
    database = tmp_path / "ecrbot.db"
    database.write_text("jobs")
    (secrets_dir / "escape").symlink_to(database)
    source = source.replace("{database}", str(database))

    with pytest.raises(ConfigError) as refused:
        load(tmp_path, source, secrets_dir)

    assert says in str(refused.value) and "apps.my-app.secrets.leak" in str(refused.value)


def test_without_a_secrets_dir_every_file_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set ECRBOT_BUILD_SECRETS_DIR"):
        load(tmp_path, "file: /etc/hostname", None)


def test_allowed_sources_load(tmp_path: Path, secrets_dir: Path) -> None:
    assert load(tmp_path, "env: ECRBOT_BUILD_SECRET_NPM", None) == "loaded"
    assert load(tmp_path, "file: npm", secrets_dir) == "loaded"
    assert load(tmp_path, f"file: {secrets_dir}/npm", secrets_dir) == "loaded"


def test_the_refused_variables_are_derived_from_the_settings_model() -> None:
    for field in Settings.model_fields.values():
        for alias in getattr(field.validation_alias, "choices", ()):
            assert str(alias).upper() in bot_variables()
    assert {"GITHUB_TOKEN", "SLACK_SIGNING_SECRET", "ECRBOT_BUILD_SECRETS_DIR"} <= bot_variables()


@pytest.mark.parametrize("folder", ["/", "/var/run/secrets", "/proc", "HOME"])
def test_a_secrets_dir_holding_the_bots_own_files_is_refused(folder: str) -> None:
    folder = str(Path.home().parent) if folder == "HOME" else folder
    with pytest.raises(ValueError, match="give builds a directory of their own"):
        Settings(build_secrets_dir=Path(folder))


def test_a_file_swapped_for_a_symlink_after_load_is_refused_at_build(
    tmp_path: Path, secrets_dir: Path
) -> None:
    secret = BuildSecret("npm", None, str(secrets_dir / "npm"))
    assert resolved_files((secret,), secrets_dir) == {"npm": str(secrets_dir.resolve() / "npm")}
    (secrets_dir / "npm").unlink()
    (secrets_dir / "npm").symlink_to("/proc/self/environ")

    with pytest.raises(UsageError, match="outside the build-secrets directory"):
        resolved_files((secret,), secrets_dir)
    with pytest.raises(UsageError, match="set ECRBOT_BUILD_SECRETS_DIR"):
        resolved_files((secret,), None)


def test_plain_base64_and_url_encoded_forms_of_a_secret_are_redacted() -> None:
    secret = "s3cr3t/npm+token=4f1d9a7c"
    redact = redactor([secret])
    for prefix in ("", "a", "ab"):  # base64 of the secret wherever it sits in what is encoded
        encoded = base64.b64encode((prefix + secret + "\n").encode()).decode()
        assert len(redact(encoded).replace("[secret]", "")) <= 8, redact(encoded)
    for form in (
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.urlsafe_b64encode(secret.encode()).decode(),
    ):
        # What may stay: the last base64 group, which mixes in what follows the secret.
        shown = redact(f"#7 0.1 {form} done")
        assert shown.startswith("#7 0.1 [secret]") and len(shown) <= len("#7 0.1 [secret]") + 9


def test_a_secret_across_the_read_boundary_of_a_long_line_never_leaves_in_pieces() -> None:
    secret = "s3cr3t-npm-token-4f1d9a7c"
    line = b"x" * (READ_CHUNK - 10) + secret.encode() + b" tail\nnext line\n"
    redact = redactor([secret])

    shown = [redact.cut(text, MAX_LINE) for text in _lines(io.BytesIO(line))]
    shown_far = [redact.cut(text, READ_CHUNK) for text in _lines(io.BytesIO(line))]

    assert shown[-1] == "next line" and len(shown) == 2  # the rest of the long line dropped
    for text in shown + shown_far:
        assert secret[:3] not in text and secret[-3:] not in text
    assert shown_far[0].endswith("x[secret]")  # the start of the secret cut at the boundary


def test_the_build_environment_carries_only_the_named_secret_variables() -> None:
    os.environ["ECRBOT_BUILD_SECRET_UNIT"] = "value"
    try:
        assert resolved_files((BuildSecret("x", "ECRBOT_BUILD_SECRET_UNIT", None),), None) == {}
    finally:
        del os.environ["ECRBOT_BUILD_SECRET_UNIT"]

"""Role sessions assumed for a person: `AssumeRole` with `SourceIdentity`, session tags and
transitive tag keys, as boto3 sessions whose credentials botocore refreshes before they expire.

A session is cached per (role, person, app, job): the same job's calls share one `AssumeRole`,
another job or person gets its own (its tags differ). The cache is bounded; an entry is dropped
once its credentials could no longer be refreshed by botocore itself.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.on_behalf import TRANSITIVE, OnBehalf, SessionValueRefused

log = logging.getLogger(__name__)

# One hour: the most a chained role session may last, and the default for every role.
DURATION_S = 3600
CACHED = 256  # sessions kept (one per role, person and job); a job rarely needs more than two
STS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)
BOT_SESSION = "ecrbot"  # a session ecrbot assumes for itself (a scheduled report, the terminal)

AssumeRole = Callable[..., dict[str, Any]]


class RoleAssumeFailed(Exception):
    """STS refused or could not be reached; the message names the role, never credentials."""


def assume_role_args(role_arn: str, who: OnBehalf | None, duration_s: int) -> dict[str, Any]:
    """`AssumeRole`'s parameters: the person's SourceIdentity and tags, or ecrbot's own name."""
    if who is None:
        return {"RoleArn": role_arn, "RoleSessionName": BOT_SESSION, "DurationSeconds": duration_s}
    return {
        "RoleArn": role_arn,
        "RoleSessionName": who.session_name,
        "DurationSeconds": duration_s,
        "SourceIdentity": who.source_identity,
        "Tags": [{"Key": key, "Value": value} for key, value in who.tags],
        "TransitiveTagKeys": list(TRANSITIVE),
    }


class _Assumed(CredentialProvider):  # type: ignore[misc]
    METHOD = "ecrbot-assume-role"
    CANONICAL_NAME = "custom-ecrbot-assume-role"

    def __init__(self, fetch: Callable[[], dict[str, str]]) -> None:
        super().__init__()
        self._fetch = fetch

    def load(self) -> RefreshableCredentials:
        return RefreshableCredentials.create_from_metadata(
            metadata=self._fetch(), refresh_using=self._fetch, method=self.METHOD
        )


class RoleSessions:
    """boto3 sessions for (role, person); `role` None is the bot's own session, unchanged."""

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        base: boto3.session.Session | None = None,
        duration_s: int = DURATION_S,
        assume_role: AssumeRole | None = None,
    ) -> None:
        self._base = base or boto3.session.Session()
        self._endpoint_url = endpoint_url
        self._duration_s = duration_s
        self._assume_role = assume_role  # tests: a fake STS; else one client per region
        self._sts: dict[str, AssumeRole] = {}
        self._cache: OrderedDict[tuple[str, OnBehalf | None, str], boto3.session.Session] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def session(
        self, role_arn: str | None, who: OnBehalf | None, region: str
    ) -> boto3.session.Session:
        """A session in `region` acting as `role_arn` for `who`; the bot's own if no role."""
        if role_arn is None:
            return self._base
        key = (role_arn, who, region)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        args = assume_role_args(role_arn, who, self._duration_s)  # refuses bad values here
        fetch = self._fetcher(args, region)
        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver([_Assumed(fetch)]))
        # The base session's loader: the service models and endpoint rules it has read already
        # (about 0.1 s of JSON for ECR) are not read again for each role and person.
        core.register_component("data_loader", self._base._session.get_component("data_loader"))
        session = boto3.session.Session(botocore_session=core, region_name=region)
        with self._lock:
            self._cache[key] = session
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return session

    def probe(self, role_arn: str, who: OnBehalf, region: str) -> str:
        """Assume `role_arn` for `who` once, uncached (diagnose asks STS itself where it can't
        read the trust policy): the session's ARN, or RoleAssumeFailed in STS's words."""
        args = assume_role_args(role_arn, who, 900)  # the shortest session STS grants
        try:
            answer = self._call(region)(**args)
        except ClientError as error:
            info = error.response.get("Error", {})
            raise RoleAssumeFailed(f"{info.get('Code')}: {info.get('Message', '')}") from None
        except BotoCoreError as error:
            raise RoleAssumeFailed(f"AWS unreachable: {error}") from None
        return str(answer.get("AssumedRoleUser", {}).get("Arn", role_arn))

    def base_principal(self, region: str) -> str:
        """The ARN of the bot's own credentials (what a registry role's trust must name)."""
        try:
            sts = self._base.client(
                "sts", region_name=region, endpoint_url=self._endpoint_url, config=STS_CONFIG
            )
            return str(sts.get_caller_identity()["Arn"])
        except ClientError as error:
            info = error.response.get("Error", {})
            raise RoleAssumeFailed(f"{info.get('Code')}: {info.get('Message', '')}") from None
        except BotoCoreError as error:
            raise RoleAssumeFailed(f"AWS unreachable: {error}") from None

    def _fetcher(self, args: dict[str, Any], region: str) -> Callable[[], dict[str, str]]:
        def fetch() -> dict[str, str]:
            try:
                answer = self._call(region)(**args)
            except ClientError as error:
                info = error.response.get("Error", {})
                raise RoleAssumeFailed(
                    f"could not assume {args['RoleArn']}: {info.get('Code', 'ClientError')}: "
                    f"{info.get('Message', '')}"
                ) from None
            except BotoCoreError as error:
                raise RoleAssumeFailed(f"could not assume {args['RoleArn']}: {error}") from None
            creds = answer["Credentials"]
            log.info(
                "assumed %s as %s (source identity %s)",
                args["RoleArn"],
                args["RoleSessionName"],
                args.get("SourceIdentity", "none"),
            )
            expiry = creds["Expiration"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": expiry.isoformat() if isinstance(expiry, datetime) else expiry,
            }

        return fetch

    def _call(self, region: str) -> AssumeRole:
        """STS in the registry's region: regional endpoints, as AWS recommends."""
        if self._assume_role is not None:
            return self._assume_role
        with self._lock:
            if region not in self._sts:
                sts = self._base.client(
                    "sts", region_name=region, endpoint_url=self._endpoint_url, config=STS_CONFIG
                )
                self._sts[region] = sts.assume_role
            return self._sts[region]


__all__ = ["RoleAssumeFailed", "RoleSessions", "SessionValueRefused", "assume_role_args"]

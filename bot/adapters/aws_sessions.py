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
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.on_behalf import TRANSITIVE, OnBehalf, SessionValueRefused

if TYPE_CHECKING:
    import boto3

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
    """boto3 sessions for (role, person); `role` None is the bot's own session, unchanged.
    `core` gives the botocore session under one, for callers that make clients only: boto3
    (about 0.05 s of imports, s3transfer's among them) is imported when a boto3 session is
    first asked for."""

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        base: boto3.session.Session | None = None,
        duration_s: int = DURATION_S,
        assume_role: AssumeRole | None = None,
    ) -> None:
        self._base = base  # made on first use when not given
        self._base_core: botocore.session.Session | None = base._session if base else None
        self._endpoint_url = endpoint_url
        self._duration_s = duration_s
        self._assume_role = assume_role  # tests: a fake STS; else one client per region
        self._sts: dict[str, AssumeRole] = {}
        # Per (role, person, region): the botocore session, and the boto3 one over it once asked.
        self._cache: OrderedDict[
            tuple[str, OnBehalf | None, str],
            tuple[botocore.session.Session, boto3.session.Session | None],
        ] = OrderedDict()
        self._lock = threading.Lock()
        self._base_lock = threading.Lock()

    def session(
        self, role_arn: str | None, who: OnBehalf | None, region: str
    ) -> boto3.session.Session:
        """A session in `region` acting as `role_arn` for `who`; the bot's own if no role."""
        if role_arn is None:
            with self._base_lock:
                if self._base is None:
                    self._base = _boto3_over(self._own_core(), None)
                return self._base
        core = self.core(role_arn, who, region)
        key = (role_arn, who, region)
        with self._lock:
            found = self._cache.get(key)
            if found is not None and found[0] is core and found[1] is not None:
                return found[1]
            session = _boto3_over(core, region)
            self._cache[key] = (core, session)
            return session

    def core(
        self, role_arn: str | None, who: OnBehalf | None, region: str
    ) -> botocore.session.Session:
        """The botocore session under `session(role_arn, who, region)`."""
        if role_arn is None:
            with self._base_lock:
                return self._own_core()
        key = (role_arn, who, region)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached[0]
        args = assume_role_args(role_arn, who, self._duration_s)  # refuses bad values here
        fetch = self._fetcher(args, region)
        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver([_Assumed(fetch)]))
        # The base session's loader: the service models and endpoint rules it has read already
        # (about 0.1 s of JSON for ECR) are not read again for each role and person.
        with self._base_lock:
            loader = self._own_core().get_component("data_loader")
        core.register_component("data_loader", loader)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:  # another thread made it meanwhile: one AssumeRole
                return cached[0]
            self._cache[key] = (core, None)
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return core

    def _own_core(self) -> botocore.session.Session:
        """The bot's own botocore session (under `_base_lock`)."""
        if self._base_core is None:
            self._base_core = botocore.session.Session()
        return self._base_core

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
            with self._base_lock:
                base = self._own_core()
            sts = base.create_client(
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
                with self._base_lock:
                    base = self._own_core()
                sts = base.create_client(
                    "sts", region_name=region, endpoint_url=self._endpoint_url, config=STS_CONFIG
                )
                self._sts[region] = sts.assume_role
            return self._sts[region]


def _boto3_over(core: botocore.session.Session, region: str | None) -> boto3.session.Session:
    """A boto3 session over `core`. boto3 appends its data path to the session's loader each
    time, and every role session shares the base's loader: one copy is kept, or a long-running
    bot's loader would search the same path once per job."""
    import boto3

    session = boto3.session.Session(botocore_session=core, region_name=region)
    paths = core.get_component("data_loader").search_paths
    paths[:] = list(dict.fromkeys(paths))
    return session


__all__ = ["RoleAssumeFailed", "RoleSessions", "SessionValueRefused", "assume_role_args"]

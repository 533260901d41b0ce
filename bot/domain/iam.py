"""IAM trust and permission policies evaluated in pure Python for `/ecr diagnose` (moto won't)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from bot.domain.iam_conditions import (
    Context,
    explain_entry,
    failing_conditions,
    has_wildcard,
    parse_operator,
    required_values,
    subject_breadth,
    wildcard_match,
)
from bot.domain.iam_conditions import PolicyError as PolicyError  # re-exported for callers
from bot.domain.iam_conditions import conditions_match as conditions_match  # re-exported

GITHUB_PROVIDER_HOST = "token.actions.githubusercontent.com"
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
PUSH_ACTIONS: tuple[str, ...] = (
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
)
# Actions whose only resource is "*": IAM checks them against "*", never against a repository.
_ACCOUNT_WIDE_ACTIONS = frozenset({"ecr:getauthorizationtoken"})
_REPOSITORY_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9._/-]+$")
_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/(.+)$")


@dataclass(frozen=True)
class Statement:
    """One policy statement, with every string-or-list element normalised to a tuple."""

    sid: str | None
    effect: Literal["Allow", "Deny"]
    # Principal type -> values; a bare `"Principal": "*"` is kept as {"*": ("*",)}.
    principal: dict[str, tuple[str, ...]]
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: dict[str, dict[str, tuple[str, ...]]]  # operator -> key -> values
    not_principal: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class OidcRequest:
    """An AssumeRoleWithWebIdentity call as a GitHub Actions job makes it."""

    provider_arn: str
    subject: str
    audience: str = "sts.amazonaws.com"
    # More condition keys of the token, e.g. {"actor": "octocat"}; a key without a ":" is
    # taken as one of the provider's claims (token.actions.githubusercontent.com:actor).
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrustDecision:
    """Whether a trust policy lets the job assume the role, and why (not)."""

    allowed: bool
    reason: str
    near_misses: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrustFinding:
    """A weakness of a trust policy that allows GitHub's provider."""

    severity: Literal["warn", "fail"]
    message: str
    statement: str


@dataclass(frozen=True)
class ActionDecision:
    """Whether the identity policies allow one action on the resource, and through what."""

    action: str
    allowed: bool
    via: str


# --- Reading policy documents ---


def parse_policy(document: dict[str, Any] | str) -> Policy:
    """Read a policy document given as a dict, a JSON string or a URL-encoded JSON string."""
    if isinstance(document, str):
        text = document.strip()
        # GetPolicyVersion's documents are URL-encoded; a raw JSON document starts with "{" and
        # is never decoded, so a literal "%3A" in it (GitHub's escaped colon) survives.
        if not text.startswith("{"):
            text = unquote(text).strip()
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise PolicyError(f"policy document is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError("policy document must be a JSON object with a Statement")
    if "Statement" not in document:
        raise PolicyError("policy document has no Statement")
    raw = document["Statement"]
    raw_statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw_statements, list):
        raise PolicyError("Statement must be an object or a list of objects")
    return Policy(tuple(_statement(item, index) for index, item in enumerate(raw_statements)))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    # Condition values may be JSON booleans or numbers (`"Null": {"k": true}`); IAM reads
    # them as their string forms.
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise PolicyError(f"{where} must be a string or a list of strings, not {item!r}")
    return tuple(out)


def _principal(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict):
        raise PolicyError(f'{where} must be "*" or an object such as {{"Federated": "arn..."}}')
    return {kind: _strings(ids, f"{where}.{kind}") for kind, ids in value.items()}


def _statement(raw: Any, index: int) -> Statement:
    where = f"statement {index + 1}"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f'{where}: Effect must be "Allow" or "Deny", not {effect!r}')
    pairs = (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal"))
    for one, other in pairs:
        if one in raw and other in raw:
            raise PolicyError(f"{where} has both {one} and {other}; use one")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError(f"{where} has neither Action nor NotAction")
    conditions = raw.get("Condition", {})
    if not isinstance(conditions, dict) or not all(
        isinstance(v, dict) for v in conditions.values()
    ):
        raise PolicyError(f'{where}: Condition must look like {{"StringEquals": {{"key": "v"}}}}')
    for operator in conditions:
        parse_operator(operator)  # refuse operators we could not evaluate, naming them now
    sid = raw.get("Sid")
    return Statement(
        sid=str(sid) if sid not in (None, "") else None,
        effect=effect,
        principal=_principal(raw.get("Principal"), f"{where}: Principal"),
        actions=_strings(raw.get("Action", []), f"{where}: Action"),
        not_actions=_strings(raw.get("NotAction", []), f"{where}: NotAction"),
        resources=_strings(raw.get("Resource", []), f"{where}: Resource"),
        not_resources=_strings(raw.get("NotResource", []), f"{where}: NotResource"),
        conditions={
            operator: {key: _strings(v, f"{where}: {operator} {key}") for key, v in keys.items()}
            for operator, keys in conditions.items()
        },
        not_principal=_principal(raw.get("NotPrincipal"), f"{where}: NotPrincipal"),
    )


def _label(statement: Statement, index: int) -> str:
    return f"statement '{statement.sid}'" if statement.sid else f"statement {index + 1}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize would lowercase the Sid


def _covers_action(statement: Statement, action: str) -> bool:
    # Action names are case-insensitive in IAM ("ECR:PutImage" is "ecr:PutImage").
    if statement.actions:
        return any(wildcard_match(p, action, ignore_case=True) for p in statement.actions)
    return not any(wildcard_match(p, action, ignore_case=True) for p in statement.not_actions)


def _covers_resource(statement: Statement, resource: str) -> bool:
    if statement.resources:
        return any(wildcard_match(p, resource) for p in statement.resources)
    if statement.not_resources:
        return not any(wildcard_match(p, resource) for p in statement.not_resources)
    return True  # no Resource: a trust or resource policy, which applies to its own resource


# --- Trust: may the GitHub job assume the role? ---


def _provider_host(provider_arn: str) -> str:
    # The condition keys are named after the provider's URL: GHES and GHE.com use their own.
    match = _PROVIDER_ARN.match(provider_arn)
    return match.group(2) if match else GITHUB_PROVIDER_HOST


def _trusts(statement: Statement, provider_arn: str) -> bool:
    if statement.not_principal:
        return provider_arn not in statement.not_principal.get("Federated", ())
    federated = statement.principal.get("Federated", ())
    return "*" in statement.principal or provider_arn in federated or "*" in federated


def _request_context(request: OidcRequest) -> dict[str, str]:
    host = _provider_host(request.provider_arn)
    context = {f"{host}:sub": request.subject, f"{host}:aud": request.audience}
    for key, value in request.extra.items():
        context[key if ":" in key else f"{host}:{key}"] = value
    return context


def evaluate_trust(policy: Policy, request: OidcRequest) -> TrustDecision:
    """Decide whether the trust policy lets this GitHub job assume the role, with near misses."""
    context = _request_context(request)
    allowing: list[str] = []
    for index, statement in enumerate(policy.statements):
        if not (
            _covers_action(statement, WEB_IDENTITY_ACTION)
            and _trusts(statement, request.provider_arn)
            and conditions_match(statement.conditions, context)
        ):
            continue
        label = _label(statement, index)
        if statement.effect == "Deny":
            # An explicit Deny wins over every Allow, whatever the statements' order.
            return TrustDecision(
                False,
                f"{_capital(label)} explicitly denies subject '{request.subject}', and an "
                f"explicit Deny overrides every Allow.",
            )
        allowing.append(label)
    if allowing:
        return TrustDecision(
            True,
            f"{_capital(allowing[0])} allows subject '{request.subject}' to assume the role.",
        )
    return TrustDecision(
        False,
        f"No statement allows {WEB_IDENTITY_ACTION} from {request.provider_arn} for subject "
        f"'{request.subject}'.",
        _near_misses(policy, request, context),
    )


def _near_misses(policy: Policy, request: OidcRequest, context: Context) -> tuple[str, ...]:
    host = _provider_host(request.provider_arn)
    misses: list[str] = []
    for index, statement in enumerate(policy.statements):
        federated = statement.principal.get("Federated", ())
        if statement.effect != "Allow" or not (
            federated or _covers_action(statement, WEB_IDENTITY_ACTION)
        ):
            continue  # e.g. a statement for ec2.amazonaws.com: not meant for this job
        label = _capital(_label(statement, index))
        if not _covers_action(statement, WEB_IDENTITY_ACTION):
            shown = ", ".join(statement.actions or statement.not_actions)
            misses.append(
                f"{label} allows {shown}, but OIDC federation calls {WEB_IDENTITY_ACTION}"
            )
        elif not _trusts(statement, request.provider_arn):
            misses.extend(
                f"{label} {_other_provider(arn, request.provider_arn)}" for arn in federated
            )
            if not federated:
                misses.append(f"{label} trusts no web identity provider")
        else:
            for entry in failing_conditions(statement.conditions, context):
                reasons = explain_entry(
                    entry, context, subject_key=f"{host}:sub", audience_key=f"{host}:aud"
                )
                misses.extend(f"{label} {reason}" for reason in reasons)
    return tuple(dict.fromkeys(misses))


def _other_provider(trusted: str, wanted: str) -> str:
    theirs, ours = _PROVIDER_ARN.match(trusted), _PROVIDER_ARN.match(wanted)
    if trusted == _provider_host(wanted):
        return f"names the provider as '{trusted}'; Principal.Federated needs its ARN {wanted}"
    if theirs and ours and theirs.group(2) == ours.group(2):
        return (
            f"trusts another provider ({trusted}): the same provider in account "
            f"{theirs.group(1)}, not {ours.group(1)}"
        )
    return f"trusts another provider ({trusted}), not {wanted}"


def suggest_trust_statement(
    provider_arn: str, subjects: Sequence[str], audience: str = "sts.amazonaws.com"
) -> dict[str, Any]:
    """A pasteable trust statement letting exactly these subjects assume the role."""
    if not _PROVIDER_ARN.match(provider_arn):
        raise ValueError(f"not an OIDC provider ARN: {provider_arn!r}")
    if not subjects:
        raise ValueError("name at least one subject, e.g. repo:ORG/REPO:ref:refs/heads/main")
    host = _provider_host(provider_arn)
    listed: str | list[str] = subjects[0] if len(subjects) == 1 else list(subjects)
    # One operator holds every subject: conditions under two operators are ANDed, so splitting
    # exact and wildcard subjects between StringEquals and StringLike would match none of them.
    condition: dict[str, dict[str, Any]] = {"StringEquals": {f"{host}:aud": audience}}
    if any(has_wildcard(subject) for subject in subjects):
        condition["StringLike"] = {f"{host}:sub": listed}
    else:
        condition["StringEquals"][f"{host}:sub"] = listed
    return {
        "Sid": "GitHubActionsOidc",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": WEB_IDENTITY_ACTION,
        "Condition": condition,
    }


def trust_findings(policy: Policy, provider_arn: str) -> tuple[TrustFinding, ...]:
    """Weaknesses of the statements that let GitHub's provider assume the role."""
    host = _provider_host(provider_arn)
    findings: list[TrustFinding] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow" or not (
            _covers_action(statement, WEB_IDENTITY_ACTION) and _trusts(statement, provider_arn)
        ):
            continue
        no_aud = f"No {host}:aud condition: add StringEquals {host}:aud = sts.amazonaws.com."
        no_sub = f"No {host}:sub condition: any repository on GitHub could assume the role."
        subjects = required_values(statement.conditions, f"{host}:sub")
        found: list[tuple[Literal["warn", "fail"], str] | None] = [
            None if required_values(statement.conditions, f"{host}:aud") else ("warn", no_aud),
            None if subjects else ("fail", no_sub),
        ]
        found.extend(subject_breadth(pattern) for like, pattern in subjects if like)
        label = _label(statement, index)
        findings.extend(TrustFinding(*finding, label) for finding in found if finding)
    return tuple(findings)


# --- Permissions: may the role push? ---


def evaluate_permissions(
    policies: Mapping[str, Policy], actions: Sequence[str], resource: str
) -> dict[str, ActionDecision]:
    """Decide each action on the resource under the role's identity policies (Deny wins)."""
    return {action: _decide(policies, action, resource) for action in actions}


def _decide(policies: Mapping[str, Policy], action: str, resource: str) -> ActionDecision:
    target = "*" if action.lower() in _ACCOUNT_WIDE_ACTIONS else resource
    allows: list[str] = []
    conditional_allows: list[str] = []
    conditional_denies: list[str] = []
    for name, policy in policies.items():
        for index, statement in enumerate(policy.statements):
            if not (_covers_action(statement, action) and _covers_resource(statement, target)):
                continue
            where = f"policy '{name}' {_label(statement, index)}"
            if statement.conditions:
                # We cannot know the request's context (tags, source IP, MFA...): say so.
                where += f" only under conditions ({_describe(statement)})"
                if statement.effect == "Deny":
                    conditional_denies.append(where)
                else:
                    conditional_allows.append(where)
            elif statement.effect == "Deny":
                return ActionDecision(action, False, f"denied by {where}")
            else:
                allows.append(where)
    caveat = "".join(f"; denied by {where}" for where in conditional_denies)
    if allows or conditional_allows:
        return ActionDecision(
            action, True, f"allowed by {(allows + conditional_allows)[0]}{caveat}"
        )
    return ActionDecision(action, False, f"no statement allows it on {target} (implicit deny)")


def _describe(statement: Statement) -> str:
    return ", ".join(
        f"{operator} {key}" for operator, keys in statement.conditions.items() for key in keys
    )


def broad_push_grants(policies: Mapping[str, Policy], actions: Sequence[str]) -> tuple[str, ...]:
    """Sentences naming push actions granted on every repository or through action wildcards."""
    sentences = []
    for name, policy in policies.items():
        for index, st in enumerate(policy.statements):
            granted = [
                a
                for a in actions
                if st.effect == "Allow"
                and _covers_action(st, a)
                and (a.lower() not in _ACCOUNT_WIDE_ACTIONS or _covers_resource(st, "*"))
            ]
            # Granted by a wildcard or a NotAction rather than by the action's own name.
            named = {p.lower() for p in st.actions}
            through = [a for a in granted if a.lower() not in named]
            broad = [p for p in st.resources if p.rsplit(":", 1)[-1] in ("*", "repository/*")]
            broad += ["NotResource"] if st.not_resources else []
            everywhere = [a for a in granted if broad and a.lower() not in _ACCOUNT_WIDE_ACTIONS]
            if not (through or everywhere):
                continue
            wild = [p for p in st.actions if has_wildcard(p)] or ["NotAction"]
            how = ["through " + ", ".join(f"'{p}'" for p in wild)] if through else []
            how += ["on " + ", ".join(f"'{p}'" for p in broad)] if everywhere else []
            listed = ", ".join(a for a in granted if a in through or a in everywhere)
            sentences.append(
                f"Policy '{name}' {_label(st, index)} grants {listed} {' '.join(how)}: grant the "
                f"push actions by name on the repository's ARN (only ecr:GetAuthorizationToken "
                f"needs '*')."
            )
    return tuple(sentences)


PREFLIGHT_ACTIONS = (
    "ecr:DescribeRepositories",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def least_privilege_policy(repository_arn: str) -> dict[str, Any]:
    """The runbook's least-privilege push policy for one repository, ready to paste."""
    if not _REPOSITORY_ARN.match(repository_arn):
        raise ValueError(
            f"not an ECR repository ARN: {repository_arn!r} "
            "(expected arn:aws:ecr:REGION:ACCOUNT:repository/NAME)"
        )
    grants = (
        ("GetAuthorizationToken", PUSH_ACTIONS[0], "*"),  # it has no resource but "*"
        ("PushToRepository", list(PUSH_ACTIONS[1:]), repository_arn),
        # What `ecrbot push` reads besides pushing: the repository's URI and mutability, and the
        # revision label of an existing tag (pre-flight) through the registry API.
        ("ReadForPreflight", list(PREFLIGHT_ACTIONS), repository_arn),
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
            for sid, action, resource in grants
        ],
    }

"""IAM trust and permission policies evaluated in pure Python for `/ecr diagnose` (moto won't).

The trust evaluation lives here; documents are parsed in iam_policy, identity permissions are
evaluated in iam_permissions, and this module re-exports both for callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.domain.iam.conditions import (
    Context,
    conditions_state,
    context_values,
    failing_conditions,
    has_wildcard,
    is_negated,
    parse_operator,
    required_values,
    subject_breadth,
)
from bot.domain.iam.conditions import PolicyError as PolicyError  # re-exported for callers
from bot.domain.iam.conditions import conditions_match as conditions_match  # re-exported
from bot.domain.iam.github_claims import claim_of, instead_of, passed_by_sts
from bot.domain.iam.near_misses import explain_entry
from bot.domain.iam.permissions import (
    PREFLIGHT_ACTIONS as PREFLIGHT_ACTIONS,
)
from bot.domain.iam.permissions import PUSH_ACTIONS as PUSH_ACTIONS
from bot.domain.iam.permissions import ActionDecision as ActionDecision
from bot.domain.iam.permissions import broad_push_grants as broad_push_grants
from bot.domain.iam.permissions import evaluate_permissions as evaluate_permissions
from bot.domain.iam.permissions import least_privilege_policy as least_privilege_policy
from bot.domain.iam.policy import Policy as Policy
from bot.domain.iam.policy import Statement as Statement
from bot.domain.iam.policy import Unreadable as Unreadable
from bot.domain.iam.policy import capital, covers_action, statement_label
from bot.domain.iam.policy import parse_policy as parse_policy
from bot.domain.iam.variables import referenced_keys

GITHUB_PROVIDER_HOST = "token.actions.githubusercontent.com"
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
_PROVIDER_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/(.+)")


@dataclass(frozen=True)
class OidcRequest:
    """An AssumeRoleWithWebIdentity call as a GitHub Actions job makes it."""

    provider_arn: str
    subject: str
    audience: str = "sts.amazonaws.com"
    # More condition keys of the token, e.g. {"actor": "octocat"}; a key without a ":" is
    # taken as one of the provider's claims (token.actions.githubusercontent.com:actor).
    extra: Mapping[str, str] = field(default_factory=dict)
    # Claims STS passes whose value ecrbot can't know before the run, and why ("who triggers
    # the run"): a condition on one is undecided, never a pass. Every other claim of the
    # provider that is neither here nor in `extra` is absent from the request.
    unknown: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrustDecision:
    """Whether a trust policy lets the job assume the role, and why (not)."""

    allowed: bool
    reason: str
    near_misses: tuple[str, ...] = ()
    # The conditions the answer waits on (quoted, with why they can't be known yet): the
    # decision is "depends", neither a pass nor a failure.
    depends: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrustFinding:
    """A weakness of a trust policy that allows GitHub's provider."""

    severity: Literal["warn", "fail"]
    message: str
    statement: str


# --- Trust: may the GitHub job assume the role? ---


def _provider_host(provider_arn: str) -> str:
    # The condition keys are named after the provider's URL: GHES and GHE.com use their own.
    match = _PROVIDER_ARN.fullmatch(provider_arn)
    return match.group(2) if match else GITHUB_PROVIDER_HOST


def _trusts(statement: Statement, provider_arn: str) -> bool:
    if statement.not_principal:
        return provider_arn not in statement.not_principal.get("Federated", ())
    federated = statement.principal.get("Federated", ())
    return "*" in statement.principal or provider_arn in federated or "*" in federated


def _request_context(
    request: OidcRequest, policy: Policy | None = None
) -> dict[str, str | tuple[str, ...]]:
    """The keys STS puts in the request, plus every key the policy tests that the request is
    known not to carry (as `()`), so only the claims in `request.unknown` stay undecided."""
    host = _provider_host(request.provider_arn)
    context: dict[str, str | tuple[str, ...]] = {
        f"{host}:sub": request.subject,
        f"{host}:aud": request.audience,
    }
    for key, value in request.extra.items():
        claim = key if ":" not in key else claim_of(key, host)
        if claim is None or passed_by_sts(claim):  # STS drops the others: never in the context
            context[key if ":" in key else f"{host}:{key}"] = value
    unknown = {f"{host}:{claim}".lower() for claim in request.unknown}
    for statement in policy.statements if policy else ():
        for entries in statement.conditions.values():
            for key, values in entries.items():
                listed = (values,) if isinstance(values, str) else values
                for name in [key, *referenced_keys(listed)]:
                    if name.lower() not in unknown and context_values(context, name) is None:
                        context[name] = ()
    return context


def evaluate_trust(policy: Policy, request: OidcRequest) -> TrustDecision:
    """Decide whether the trust policy lets this GitHub job assume the role, with near misses;
    a statement that turns on a claim only the run knows makes the answer "depends"."""
    context = _request_context(request, policy)
    allowing: list[str] = []
    maybe_allow: list[str] = []
    maybe_deny: list[str] = []
    for index, statement in enumerate(policy.statements):
        if not (
            covers_action(statement, WEB_IDENTITY_ACTION)
            and _trusts(statement, request.provider_arn)
        ):
            continue
        state = conditions_state(statement.conditions, context, variables=statement.variables)
        if state is False:
            continue
        label = statement_label(statement, index)
        if statement.effect == "Deny":
            if state:
                # An explicit Deny wins over every Allow, whatever the statements' order.
                return TrustDecision(
                    False,
                    f"{capital(label)} explicitly denies subject '{request.subject}', and an "
                    f"explicit Deny overrides every Allow.",
                )
            maybe_deny.extend(_undecided(statement, request, label))
        elif state:
            allowing.append(label)
        else:
            maybe_allow.extend(_undecided(statement, request, label))
    if allowing and not maybe_deny:
        return TrustDecision(
            True,
            f"{capital(allowing[0])} allows subject '{request.subject}' to assume the role.",
        )
    if allowing or maybe_allow:
        waits = tuple(dict.fromkeys(maybe_deny if allowing else maybe_allow))
        return TrustDecision(
            False,
            f"Whether subject '{request.subject}' may assume the role depends on claims known "
            "only when the job runs.",
            depends=waits,
        )
    return TrustDecision(
        False,
        f"No statement allows {WEB_IDENTITY_ACTION} from {request.provider_arn} for subject "
        f"'{request.subject}'.",
        _near_misses(policy, request, context),
    )


def _undecided(statement: Statement, request: OidcRequest, label: str) -> list[str]:
    """The statement's conditions on claims only the run knows, quoted, with why."""
    host = _provider_host(request.provider_arn)
    found = []
    for operator, entries in statement.conditions.items():
        for key, values in entries.items():
            claim = claim_of(key, host)
            if claim is not None and claim in request.unknown:
                shown = json.dumps(values if isinstance(values, str) else list(values))
                found.append(
                    f'{label}: "{operator}": {{"{key}": {shown}}} depends on '
                    f"{request.unknown[claim]}"
                )
    return found


def _near_misses(policy: Policy, request: OidcRequest, context: Context) -> tuple[str, ...]:
    host = _provider_host(request.provider_arn)
    misses: list[str] = []
    for index, statement in enumerate(policy.statements):
        federated = statement.principal.get("Federated", ())
        if statement.effect != "Allow" or not (
            federated or covers_action(statement, WEB_IDENTITY_ACTION)
        ):
            continue  # e.g. a statement for ec2.amazonaws.com: not meant for this job
        label = capital(statement_label(statement, index))
        if not covers_action(statement, WEB_IDENTITY_ACTION):
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
            failing = failing_conditions(
                statement.conditions, context, variables=statement.variables
            )
            for entry in failing:
                claim = claim_of(entry[1], host)
                if claim in request.unknown:
                    continue  # undecided, not failing: the run decides
                if claim is not None and not passed_by_sts(claim):
                    if not is_negated_entry(entry[0]):
                        misses.append(
                            f"{label} tests {entry[1]}, a claim AWS STS does not put in the "
                            "request context (for GitHub it passes only sub, aud, actor, "
                            "actor_id, job_workflow_ref, repository, repository_id, workflow, "
                            "ref, environment and enterprise_id), so the condition can never "
                            f"hold: test {instead_of(claim)} instead"
                        )
                    continue
                reasons = explain_entry(
                    entry,
                    context,
                    subject_key=f"{host}:sub",
                    audience_key=f"{host}:aud",
                    variables=statement.variables,
                )
                misses.extend(f"{label} {reason}" for reason in reasons)
    return tuple(dict.fromkeys(misses))


def is_negated_entry(operator: str) -> bool:
    """Whether an operator holds for a missing key (negated operators, IfExists, ForAllValues)."""
    prefix, base, if_exists = parse_operator(operator)
    return if_exists or prefix == "ForAllValues" or is_negated(base)


def _other_provider(trusted: str, wanted: str) -> str:
    theirs, ours = _PROVIDER_ARN.fullmatch(trusted), _PROVIDER_ARN.fullmatch(wanted)
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
    if not _PROVIDER_ARN.fullmatch(provider_arn):
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
            covers_action(statement, WEB_IDENTITY_ACTION) and _trusts(statement, provider_arn)
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
        label = statement_label(statement, index)
        findings.extend(TrustFinding(*finding, label) for finding in found if finding)
    return tuple(findings)

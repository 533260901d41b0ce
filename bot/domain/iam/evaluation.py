"""One request decided the way AWS decides it, across every kind of policy that applies.

AWS's order (IAM User Guide, "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
and "How AWS enforcement code logic evaluates requests to allow or deny access",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):

1. an explicit Deny in any policy that applies (SCPs, the resource policy, identity policies,
   the permissions boundary) decides, whatever allows it elsewhere;
2. SCPs must allow the action at every level of the organization (the root, each OU, the
   account): an implicit deny at any level denies;
3. within one account, an Allow in the resource policy or in an identity policy is enough
   ("If either the identity-based policy or the resource-based policy within the same account
   allows the request and the other doesn't, the request is still allowed"); across accounts
   both must allow ("Cross-account policy evaluation logic");
4. a permissions boundary caps what identity policies grant ("Permissions boundaries for IAM
   entities"): the effective permission is the intersection. A resource policy that names an
   IAM user is not capped by the user's boundary; one that names a role is (only a grant to
   the role's session ARN escapes it, and pushes from GitHub use sessions nobody names).

Everything here is pure: the documents come in parsed, and the request context is what ecrbot
knows of a push (see `push_context`); a condition on a key it cannot know makes a statement
"only under conditions", which is said rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.domain.iam.conditions import Context, conditions_state, context_values
from bot.domain.iam.policy import (
    Policy,
    Statement,
    Unreadable,
    covers_action,
    covers_resource,
    statement_label,
)
from bot.domain.iam.variables import referenced_keys


@dataclass(frozen=True)
class Principal:
    """Who pushes: the CI role (through a session GitHub's token opened) or an IAM user."""

    arn: str  # arn:aws:iam::ACCOUNT:role/PATH/NAME or arn:aws:iam::ACCOUNT:user/NAME
    kind: Literal["role", "user"]
    context: Context = field(default_factory=dict)
    boundary: bool = False  # a permissions boundary is attached

    @property
    def account(self) -> str:
        return self.arn.split(":")[4] if self.arn.count(":") >= 5 else ""

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class OrgLevel:
    """The SCPs attached to one level of the organization above the principal's account."""

    target: str  # "root r-ab12", "OU ou-ab12-cdef3456", "account 123456789012"
    policies: Mapping[str, Policy]
    skipped: tuple[Unreadable, ...] = ()  # SCPs attached here that could not be read


@dataclass(frozen=True)
class Documents:
    """Every policy that applies to the principal's requests on one repository."""

    identity: Mapping[str, Policy] | None  # None: in an account ecrbot can't read
    boundary: tuple[str, Policy] | None = None  # (ARN, policy)
    repository: Policy | None = None  # the repository policy; None: it has none
    scps: tuple[OrgLevel, ...] | None = None  # None: no SCPs apply (or they were not read)
    unreadable: tuple[Unreadable, ...] = ()  # documents skipped, each named with why


@dataclass(frozen=True)
class Decision:
    """AWS's answer to one action, and the document (and statement) that decided it."""

    action: str
    allowed: bool | None  # None: the deciding document is in an account ecrbot can't read
    decided_by: str
    caveats: tuple[str, ...] = ()
    # Which kind of document decided: scp, repository, identity, boundary, none (nothing
    # allows it), unknown (a document that decides could not be read).
    source: str = "none"


@dataclass(frozen=True)
class _Hit:
    where: str
    certain: bool  # False: only under conditions on keys ecrbot can't know

    def describe(self) -> str:
        return self.where if self.certain else f"{self.where} (only under conditions)"


@dataclass
class _Found:
    allows: list[_Hit] = field(default_factory=list)
    account_allows: list[_Hit] = field(default_factory=list)  # resource policy: the account
    denies: list[_Hit] = field(default_factory=list)

    def first_allow(self) -> _Hit | None:
        return self.allows[0] if self.allows else None


def decide(
    principal: Principal,
    documents: Documents,
    action: str,
    resource: str | None,
    resource_account: str,
) -> Decision:
    """AWS's decision on `action` on `resource` (None: an action that takes no resource, such as
    ecr:GetAuthorizationToken, which only identity policies decide)."""
    target = resource or "*"
    context = principal.context
    scps = [
        (level, _scan(f"SCP '{name}' on {level.target}", policy, action, target, context))
        for level in documents.scps or ()
        for name, policy in level.policies.items()
    ]
    repository = (
        _scan("the repository policy", documents.repository, action, target, context, principal)
        if documents.repository is not None and resource is not None
        else _Found()
    )
    identity = [
        _scan(f"identity policy '{name}'", policy, action, target, context)
        for name, policy in (documents.identity or {}).items()
    ]
    boundary = None
    if documents.boundary is not None:
        arn, capping = documents.boundary
        boundary = _scan(f"the permissions boundary {arn}", capping, action, target, context)
    everything = [found for _, found in scps] + [repository, *identity]
    everything += [boundary] if boundary is not None else []
    caveats = [
        f"may be denied by {hit.where} (under conditions ecrbot can't know)"
        for found in everything
        for hit in found.denies
        if not hit.certain
    ]
    skipped = [*documents.unreadable, *(s for level in documents.scps or () for s in level.skipped)]
    caveats += [f"{doc.name} was not read ({doc.reason})" for doc in skipped]

    def verdict(allowed: bool | None, why: str, source: str) -> Decision:
        return Decision(action, allowed, why, tuple(dict.fromkeys(caveats)), source)

    # 1. An explicit deny anywhere decides.
    kinds = ["scp"] * len(scps) + ["repository"] + ["identity"] * len(identity) + ["boundary"]
    # kinds names a boundary even when there is none: zip stops at the shorter list.
    for kind, found in zip(kinds, everything, strict=False):  # pragma: no mutate (None is False)
        for hit in found.denies:
            if hit.certain:
                return verdict(False, f"explicitly denied by {hit.where}", kind)
    # 2. SCPs: an allow at every level, from the root down to the account.
    for level in documents.scps or ():
        if not any(found.allows for lvl, found in scps if lvl is level):
            if level.skipped:
                return verdict(None, f"the SCPs on {level.target} could not all be read", "unknown")
            return verdict(
                False,
                f"no SCP attached to {level.target} allows it (SCPs must allow an action at "
                f"every level of the organization)",
                "scp",
            )
    # 3 and 4. Identity and resource policies, capped by the boundary.
    identity_allow = next((found.first_allow() for found in identity if found.allows), None)
    capped = boundary is not None and not boundary.allows
    boundary_words = (
        f"the permissions boundary {documents.boundary[0]} does not allow it (a boundary caps "
        "what the identity policies grant: the effective permission is the intersection)"
        if documents.boundary is not None
        else ""  # pragma: no mutate (only said when a boundary caps: never this "")
    )
    direct = repository.first_allow()
    if resource is None or principal.account == resource_account:
        if direct and (principal.kind == "user" or not capped):
            return verdict(
                True,
                f"allowed by {direct.describe()} (same account: the repository policy alone "
                "is enough)",
                "repository",
            )
        if identity_allow and not capped:
            return verdict(True, f"allowed by {identity_allow.describe()}", "identity")
        granted = identity_allow or direct
        if granted is not None:
            return verdict(False, f"{boundary_words}; {granted.describe()} allows it", "boundary")
        if documents.identity is None:
            return verdict(None, _unreadable_identity(principal), "unknown")
        where = "on *" if resource is None else f"on {resource}"
        return verdict(
            False,
            f"no identity policy{'' if resource is None else ' or repository policy'} "
            f"statement allows it {where} (implicit deny)",
            "none",
        )
    # Cross-account: the repository policy (naming the principal or its account) and the
    # principal's own policies must both allow.
    granted_here = direct or next(iter(repository.account_allows), None)
    if granted_here is None:
        why = (
            "the repository has no policy"
            if documents.repository is None
            else "no statement of it allows the principal or its account"
        )
        return verdict(
            False,
            f"cross-account: the repository policy in account {resource_account} must allow "
            f"{principal.arn} too, and {why}",
            "repository",
        )
    if documents.identity is None:
        return verdict(
            None,
            f"{granted_here.describe()} allows it; {_unreadable_identity(principal)}",
            "unknown",
        )
    if identity_allow is None:
        return verdict(
            False,
            f"cross-account: {granted_here.describe()} allows it, but no identity policy of "
            f"{principal.arn} does (both must)",
            "none",
        )
    if capped:
        return verdict(
            False, f"{boundary_words}; {identity_allow.describe()} allows it", "boundary"
        )
    return verdict(
        True,
        f"allowed by {identity_allow.describe()} and {granted_here.describe()} "
        "(cross-account: both must allow)",
        "identity",
    )


def _unreadable_identity(principal: Principal) -> str:
    return (
        f"the identity policies of {principal.arn} are in account {principal.account}, "
        "which ecrbot's credentials can't read: check them there"
    )


def _scan(
    label: str,
    policy: Policy,
    action: str,
    target: str,
    context: Context,
    principal: Principal | None = None,
) -> _Found:
    """The statements of one document that apply to the request, as allows and denies."""
    found = _Found()
    for index, statement in enumerate(policy.statements):
        # Outside a resource policy every statement is the principal's own; only "account"
        # and None are told apart below, so the word itself is an equivalent mutant.
        whom: Literal["direct", "account"] | None = "direct"  # pragma: no mutate
        if principal is not None:
            whom = _whom(statement, principal)
        if whom is None or not covers_action(statement, action):
            continue
        if not covers_resource(statement, target, context):
            continue
        state = conditions_state(statement.conditions, context, variables=statement.variables)
        if state is False:
            continue
        hit = _Hit(f"{label} {statement_label(statement, index)}", state is True)
        if statement.effect == "Deny":
            found.denies.append(hit)
        elif whom == "account":
            found.account_allows.append(hit)
        else:
            found.allows.append(hit)
    return found


def _whom(statement: Statement, principal: Principal) -> Literal["direct", "account"] | None:
    """Whether a resource-policy statement names the principal, only its account, or neither.

    IAM User Guide, "AWS JSON policy elements: Principal" and "...: NotPrincipal": an account
    principal delegates to the account's identity policies; NotPrincipal with Deny always
    denies a principal with a permissions boundary, and excludes a role's sessions only when
    it lists the account as well as the role (AWS checks the account, then the role, then the
    session).
    """
    arn, account = principal.arn, principal.account
    account_forms = {account, f"arn:aws:iam::{account}:root"}
    if statement.not_principal:
        listed = set(statement.not_principal.get("AWS", ()))
        if statement.effect == "Deny" and principal.boundary:
            return "direct"
        session = f"arn:aws:sts::{account}:assumed-role/{principal.name}/"
        names_it = arn in listed or any(item.startswith(session) for item in listed)
        return None if listed & account_forms and names_it else "direct"
    aws = statement.principal.get("AWS", ())
    if "*" in statement.principal or "*" in aws or arn in aws:
        return "direct"
    return "account" if account_forms & set(aws) else None


def push_context(
    principal_arn: str,
    kind: Literal["role", "user"],
    *,
    region: str,
    resource_account: str,
    org_id: str | Literal["unknown"] | None = "unknown",
    tags: Mapping[str, str] | None = None,
) -> dict[str, str | tuple[str, ...]]:
    """What AWS would know of a push request, as far as ecrbot can tell (IAM User Guide,
    "AWS global condition context keys"). Keys left out are unknown; `()` is known absent."""
    account = principal_arn.split(":")[4] if principal_arn.count(":") >= 5 else ""
    context: dict[str, str | tuple[str, ...]] = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "AssumedRole" if kind == "role" else "User",
        "aws:username": () if kind == "role" else principal_arn.rpartition("/")[2],
        "aws:SecureTransport": "true",  # docker and the ECR API speak TLS
        "aws:RequestedRegion": region,
        "aws:ResourceAccount": resource_account,
        "aws:PrincipalIsAWSService": "false",
        "aws:ViaAWSService": "false",
        "aws:CalledVia": (),
        "aws:CalledViaFirst": (),
        "aws:CalledViaLast": (),
        "aws:PrincipalServiceName": (),
        "aws:PrincipalServiceNamesList": (),
    }
    if org_id != "unknown":
        context["aws:PrincipalOrgID"] = org_id if org_id else ()  # absent outside an org
    for key, value in (tags or {}).items():
        context[f"aws:PrincipalTag/{key}"] = value
    return context


def close_tags(context: Context, documents: Documents) -> dict[str, str | Sequence[str]]:
    """The context with every aws:PrincipalTag/ key the documents use and the principal lacks
    marked absent: the principal's tags were read, so a tag it doesn't have isn't there."""
    closed: dict[str, str | Sequence[str]] = dict(context)
    for key in _condition_keys(documents):
        if key.lower().startswith("aws:principaltag/") and context_values(closed, key) is None:
            closed[key] = ()
    return closed


def _condition_keys(documents: Documents) -> Iterable[str]:
    policies: list[Policy] = list((documents.identity or {}).values())
    policies += [documents.boundary[1]] if documents.boundary else []
    policies += [documents.repository] if documents.repository else []
    policies += [p for level in documents.scps or () for p in level.policies.values()]
    for policy in policies:
        for statement in policy.statements:
            yield from referenced_keys([*statement.resources, *statement.not_resources])
            for entries in statement.conditions.values():
                for key, values in entries.items():
                    yield key
                    yield from referenced_keys(values)

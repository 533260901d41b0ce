"""A push decided across SCPs, the repository policy, identity policies and the boundary, in
AWS's order (IAM User Guide, "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""

from __future__ import annotations

from typing import Any

from bot.domain.iam.evaluation import (
    Documents,
    OrgLevel,
    Principal,
    close_tags,
    decide,
    push_context,
)
from bot.domain.iam.policy import Policy, Unreadable, parse_policy

ACCOUNT, OTHER = "123456789012", "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/gha-app"
FOREIGN = f"arn:aws:iam::{OTHER}:role/gha-app"
USER = f"arn:aws:iam::{ACCOUNT}:user/legacy"
REPO = f"arn:aws:ecr:eu-west-2:{ACCOUNT}:repository/app"
PUT = "ecr:PutImage"


def policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str = "ecr:*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "ecr:*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def repo_policy(*statements: dict[str, Any]) -> Policy:
    return policy(*({k: v for k, v in s.items() if k != "Resource"} for s in statements))


def role(arn: str = ROLE, **kwargs: Any) -> Principal:
    context = push_context(arn, "role", region="eu-west-2", resource_account=ACCOUNT, org_id=None)
    return Principal(arn, "role", context, **kwargs)


def user(**kwargs: Any) -> Principal:
    context = push_context(USER, "user", region="eu-west-2", resource_account=ACCOUNT, org_id=None)
    return Principal(USER, "user", context, **kwargs)


def run(principal: Principal, **documents: Any) -> Any:
    documents.setdefault("identity", {})
    return decide(principal, Documents(**documents), PUT, REPO, ACCOUNT)


# --- Same account: the identity policy or the repository policy may allow ---


def test_an_identity_allow_names_its_statement() -> None:
    decision = run(role(), identity={"inline:push": policy(allow(PUT, REPO))})
    assert decision.allowed and decision.source == "identity"
    assert decision.decided_by == "allowed by identity policy 'inline:push' statement 1"


def test_the_repository_policy_alone_is_enough_in_the_same_account() -> None:
    # "If either the identity-based policy or the resource-based policy within the same account
    # allows the request and the other doesn't, the request is still allowed."
    grant = {"Sid": "Ci", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": PUT}
    decision = run(role(), repository=repo_policy(grant))
    assert decision.allowed and decision.source == "repository"
    assert "the repository policy statement 'Ci'" in decision.decided_by


def test_an_account_principal_only_delegates_to_identity_policies() -> None:
    grant = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": PUT}
    decision = run(role(), repository=repo_policy(grant))
    assert decision.allowed is False and "implicit deny" in decision.decided_by


def test_an_explicit_deny_in_the_repository_policy_wins() -> None:
    denial = {
        "Sid": "DenyOutsideOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "ecr:*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}},
    }
    outside = run(role(), identity={"p": policy(allow())}, repository=repo_policy(denial))
    assert outside.allowed is False and outside.source == "repository"
    assert outside.decided_by == (
        "explicitly denied by the repository policy statement 'DenyOutsideOrg'"
    )
    inside = Principal(
        ROLE,
        "role",
        push_context(ROLE, "role", region="eu-west-2", resource_account=ACCOUNT, org_id="o-abc"),
    )
    assert run(inside, identity={"p": policy(allow())}, repository=repo_policy(denial)).allowed


def test_an_unknown_condition_key_makes_a_deny_a_caveat_not_a_verdict() -> None:
    vpc_only = deny(Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})
    decision = run(role(), identity={"p": policy(allow()), "guard": policy(vpc_only)})
    assert decision.allowed
    assert decision.caveats == (
        "may be denied by identity policy 'guard' statement 1 (under conditions ecrbot can't know)",
    )


# --- Cross-account: both sides must allow ---
# "Cross-account policy evaluation logic",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html


def test_cross_account_needs_the_repository_policy_and_the_identity_policy() -> None:
    identity = {"p": policy(allow(PUT, REPO))}
    no_policy = run(role(FOREIGN), identity=identity)
    assert no_policy.allowed is False and "the repository has no policy" in no_policy.decided_by
    grant = {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": PUT}
    both = run(role(FOREIGN), identity=identity, repository=repo_policy(grant))
    assert both.allowed and "cross-account: both must allow" in both.decided_by
    only_resource = run(role(FOREIGN), identity={}, repository=repo_policy(grant))
    assert only_resource.allowed is False and "no identity policy" in only_resource.decided_by
    unreadable = decide(
        role(FOREIGN), Documents(identity=None, repository=repo_policy(grant)), PUT, REPO, ACCOUNT
    )
    assert unreadable.allowed is None and "can't read" in unreadable.decided_by


# --- Permissions boundaries ---
# "Permissions boundaries for IAM entities",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html


def test_a_boundary_without_the_action_caps_the_identity_grant() -> None:
    boundary = ("arn:aws:iam::123456789012:policy/cap", policy(allow("ecr:Upload*")))
    decision = run(role(boundary=True), identity={"p": policy(allow())}, boundary=boundary)
    assert decision.allowed is False and decision.source == "boundary"
    assert decision.decided_by.startswith(
        "the permissions boundary arn:aws:iam::123456789012:policy/cap does not allow it"
    )
    assert decision.decided_by.endswith("identity policy 'p' statement 1 allows it")
    both = (boundary[0], policy(allow(PUT)))
    assert run(role(boundary=True), identity={"p": policy(allow())}, boundary=both).allowed


def test_a_repository_grant_to_a_user_escapes_its_boundary_but_not_a_roles() -> None:
    boundary = ("arn:aws:iam::123456789012:policy/cap", policy(allow("s3:*")))
    to_user = {"Effect": "Allow", "Principal": {"AWS": USER}, "Action": PUT}
    assert run(user(boundary=True), boundary=boundary, repository=repo_policy(to_user)).allowed
    to_role = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": PUT}
    capped = run(role(boundary=True), boundary=boundary, repository=repo_policy(to_role))
    assert capped.allowed is False and capped.source == "boundary"


def test_a_boundary_caps_a_cross_account_push_the_repository_policy_allows() -> None:
    # Across accounts both sides must allow, and the pushing role's side is its identity
    # policies capped by its boundary: a grant in the other account's repository policy does
    # not lift the cap.
    cap = (f"arn:aws:iam::{OTHER}:policy/cap", policy(allow("s3:*")))
    grant = {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": PUT}
    identity = {"p": policy(allow(PUT, REPO))}
    capped = run(
        role(FOREIGN, boundary=True), identity=identity, boundary=cap,
        repository=repo_policy(grant),
    )  # fmt: skip
    assert capped.allowed is False and capped.source == "boundary"
    assert capped.decided_by == (
        f"the permissions boundary arn:aws:iam::{OTHER}:policy/cap does not allow it (a boundary "
        "caps what the identity policies grant: the effective permission is the intersection); "
        "identity policy 'p' statement 1 allows it"
    )
    lifted = (cap[0], policy(allow(PUT)))
    allowed = run(
        role(FOREIGN, boundary=True), identity=identity, boundary=lifted,
        repository=repo_policy(grant),
    )  # fmt: skip
    assert allowed.allowed is True and allowed.source == "identity"


def test_not_principal_with_deny_always_denies_a_principal_with_a_boundary() -> None:
    # "AWS JSON policy elements: NotPrincipal": it "will always deny any IAM principal that
    # has a permissions boundary policy attached".
    except_ci = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [ROLE, f"arn:aws:iam::{ACCOUNT}:root"]},
        "Action": "ecr:*",
    }
    identity = {"p": policy(allow())}
    assert run(role(), identity=identity, repository=repo_policy(except_ci)).allowed
    boundary = ("arn:aws:iam::123456789012:policy/cap", policy(allow()))
    bounded = run(
        role(boundary=True), identity=identity, boundary=boundary,
        repository=repo_policy(except_ci),
    )  # fmt: skip
    assert bounded.allowed is False and bounded.source == "repository"
    # Without the account ARN, the session is not excluded (AWS checks the account first).
    role_only = {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "ecr:*"}
    assert run(role(), identity=identity, repository=repo_policy(role_only)).allowed is False


# --- SCPs ---
# "Service control policies (SCPs)", AWS Organizations User Guide: an action must be allowed at
# every level (root, each OU, the account), and a deny at any level wins.

FULL_ACCESS = policy(allow("*"))


def scps(*levels: tuple[str, dict[str, Policy]]) -> tuple[OrgLevel, ...]:
    return tuple(OrgLevel(target, policies) for target, policies in levels)


def test_scps_must_allow_at_every_level() -> None:
    identity = {"p": policy(allow())}
    org = scps(
        ("root r-ab12", {"FullAWSAccess": FULL_ACCESS}),
        ("OU ou-ab12-11111111", {"OnlyS3": policy(allow("s3:*"))}),
        (f"account {ACCOUNT}", {"FullAWSAccess": FULL_ACCESS}),
    )
    decision = run(role(), identity=identity, scps=org)
    assert decision.allowed is False and decision.source == "scp"
    assert decision.decided_by.startswith("no SCP attached to OU ou-ab12-11111111 allows it")
    open_org = scps(*((level.target, {"FullAWSAccess": FULL_ACCESS}) for level in org))
    assert run(role(), identity=identity, scps=open_org).allowed


def test_an_scp_deny_wins_and_an_exception_for_the_role_holds() -> None:
    guard = policy(
        deny(
            "ecr:PutImage",
            Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci/*"}},
        )
    )
    org = scps(("root r-ab12", {"FullAWSAccess": FULL_ACCESS, "NoPushButCi": guard}))
    assert run(role(), identity={"p": policy(allow())}, scps=org).allowed
    other = f"arn:aws:iam::{ACCOUNT}:role/deployer"
    denied = run(role(other), identity={"p": policy(allow())}, scps=org)
    assert denied.allowed is False
    assert denied.decided_by == "explicitly denied by SCP 'NoPushButCi' on root r-ab12 statement 1"


def test_an_unreadable_scp_makes_its_level_unknown_not_allowed() -> None:
    org = (OrgLevel("root r-ab12", {}, (Unreadable("SCP 'x'", "not valid JSON"),)),)
    decision = run(role(), identity={"p": policy(allow())}, scps=org)
    assert decision.allowed is None and "could not all be read" in decision.decided_by


# --- The request context ecrbot knows ---


def test_principal_tags_the_documents_use_are_known_absent_once_tags_are_read() -> None:
    team_only = policy(
        allow(PUT, REPO, Condition={"StringEquals": {"aws:PrincipalTag/team": "ci"}})
    )
    documents = Documents(identity={"p": team_only})
    context = push_context(
        ROLE, "role", region="eu-west-2", resource_account=ACCOUNT, tags={"env": "prod"}
    )
    closed = close_tags(context, documents)
    assert closed["aws:PrincipalTag/team"] == () and closed["aws:PrincipalTag/env"] == "prod"
    assert decide(Principal(ROLE, "role", closed), documents, PUT, REPO, ACCOUNT).allowed is False
    tagged = close_tags({**context, "aws:PrincipalTag/team": "ci"}, documents)
    assert decide(Principal(ROLE, "role", tagged), documents, PUT, REPO, ACCOUNT).allowed


def test_the_token_action_is_decided_by_identity_policies_on_star() -> None:
    denial = {"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}
    decision = decide(
        role(),
        Documents(identity={"p": policy(allow("ecr:GetAuthorizationToken"))},
                  repository=repo_policy(denial)),
        "ecr:GetAuthorizationToken",
        None,
        ACCOUNT,
    )  # fmt: skip
    assert decision.allowed  # the repository policy does not govern a call with no repository


# --- Who a repository-policy statement names ---
# "AWS JSON policy elements: Principal" and "...: NotPrincipal" (IAM User Guide).


def test_a_wildcard_principal_grants_directly_and_another_account_grants_nothing() -> None:
    anyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": PUT}
    assert run(role(), repository=repo_policy(anyone)).source == "repository"
    elsewhere = {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": PUT}
    decision = run(role(), repository=repo_policy(elsewhere))
    assert decision.allowed is False and "implicit deny" in decision.decided_by


def test_not_principal_excludes_a_role_session_listed_with_its_account() -> None:
    # AWS checks the account, then the role, then the session: listing the account and the
    # role's session ARN excludes the pushing session from the Deny.
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/gha-app/GitHubActions"
    except_session = {
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", session]},
        "Action": "ecr:*",
    }
    identity = {"p": policy(allow())}
    assert run(role(), identity=identity, repository=repo_policy(except_session)).allowed
    other_role = f"arn:aws:sts::{ACCOUNT}:assumed-role/someone-else/x"
    not_ours = {**except_session, "NotPrincipal": {"AWS": [ACCOUNT, other_role]}}
    denied = run(role(), identity=identity, repository=repo_policy(not_ours))
    assert denied.allowed is False and denied.source == "repository"


def test_a_cross_account_grant_to_a_third_account_does_not_let_the_principal_in() -> None:
    third = {"Effect": "Allow", "Principal": {"AWS": "999999999999"}, "Action": PUT}
    identity = {"p": policy(allow(PUT, REPO))}
    decision = run(role(FOREIGN), identity=identity, repository=repo_policy(third))
    assert decision.allowed is False and decision.source == "repository"
    assert "no statement of it allows the principal or its account" in decision.decided_by

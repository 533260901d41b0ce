"""What `/ecr diagnose` tells a user about a push decision, word for word, for each path of
AWS's evaluation order (`bot.domain.iam.evaluation.decide`): the verdict, the sentence that
says why, the kind of document that decided, and the caveats. A wrong word here sends a user
to fix the wrong document, so each path's sentence is pinned (issue #17's mutation floor)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.iam.evaluation import Decision, Documents, OrgLevel, Principal, decide, push_context
from bot.domain.iam.policy import Policy, Unreadable, parse_policy

ACCOUNT, OTHER = "123456789012", "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/gha-app"
FOREIGN = f"arn:aws:iam::{OTHER}:role/gha-app"
USER = f"arn:aws:iam::{ACCOUNT}:user/legacy"
REPO = f"arn:aws:ecr:eu-west-2:{ACCOUNT}:repository/app"
PUT = "ecr:PutImage"
CAP = f"arn:aws:iam::{ACCOUNT}:policy/cap"
UNKNOWN_KEY = {"StringEquals": {"aws:SourceVpce": "vpce-1"}}  # a key ecrbot can't know
CAPS = (
    "does not allow it (a boundary caps what the identity policies grant: the effective "
    "permission is the intersection)"
)


def policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str = "ecr:*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "ecr:*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def grant(who: str, effect: str = "Allow", **extra: Any) -> Policy:
    return policy({"Effect": effect, "Principal": {"AWS": who}, "Action": PUT, **extra})


def principal(arn: str = ROLE, kind: Any = "role", **kwargs: Any) -> Principal:
    context = push_context(arn, kind, region="eu-west-2", resource_account=ACCOUNT, org_id=None)
    return Principal(arn, kind, context, **kwargs)


def run(who: Principal | None = None, resource: str | None = REPO, **documents: Any) -> Decision:
    documents.setdefault("identity", {})
    return decide(who or principal(), Documents(**documents), PUT, resource, ACCOUNT)


def said(decision: Decision) -> tuple[bool | None, str, str]:
    return decision.allowed, decision.decided_by, decision.source


# --- The same account ---

SAME_ACCOUNT: list[tuple[str, dict[str, Any], tuple[bool | None, str, str]]] = [
    (
        "the first identity policy that allows it, and its first statement",
        {"identity": {"a": policy(deny("s3:*"), allow(PUT), allow()), "b": policy(allow())}},
        (True, "allowed by identity policy 'a' statement 2", "identity"),
    ),
    (
        "a repository grant to the principal",
        {"repository": grant(ROLE, Sid="Ci")},
        (
            True,
            "allowed by the repository policy statement 'Ci' (same account: the repository "
            "policy alone is enough)",
            "repository",
        ),
    ),
    (
        "a repository grant that holds only under conditions",
        {"repository": grant(ROLE, Condition=UNKNOWN_KEY)},
        (
            True,
            "allowed by the repository policy statement 1 (only under conditions) (same "
            "account: the repository policy alone is enough)",
            "repository",
        ),
    ),
    (
        "an identity grant that holds only under conditions",
        {"identity": {"p": policy(allow(Condition=UNKNOWN_KEY))}},
        (True, "allowed by identity policy 'p' statement 1 (only under conditions)", "identity"),
    ),
    (
        "a boundary without the action",
        {"identity": {"p": policy(allow())}, "boundary": (CAP, policy(allow("s3:*")))},
        (
            False,
            f"the permissions boundary {CAP} {CAPS}; identity policy 'p' statement 1 allows it",
            "boundary",
        ),
    ),
    (
        "a boundary without the action, over a repository grant to a role",
        {"boundary": (CAP, policy(allow("s3:*"))), "repository": grant(ROLE)},
        (
            False,
            f"the permissions boundary {CAP} {CAPS}; the repository policy statement 1 allows it",
            "boundary",
        ),
    ),
    (
        "a boundary that allows it",
        {"identity": {"p": policy(allow())}, "boundary": (CAP, policy(allow(PUT)))},
        (True, "allowed by identity policy 'p' statement 1", "identity"),
    ),
    (
        "nothing that allows it",
        {"identity": {"p": policy(allow("s3:*"))}},
        (
            False,
            f"no identity policy or repository policy statement allows it on {REPO} "
            "(implicit deny)",
            "none",
        ),
    ),
    (
        "identity policies in an account ecrbot can't read",
        {"identity": None},
        (
            None,
            f"the identity policies of {ROLE} are in account {ACCOUNT}, which ecrbot's "
            "credentials can't read: check them there",
            "unknown",
        ),
    ),
    (
        "a repository grant to the account only",
        {"repository": grant(f"arn:aws:iam::{ACCOUNT}:root")},
        (
            False,
            f"no identity policy or repository policy statement allows it on {REPO} "
            "(implicit deny)",
            "none",
        ),
    ),
]


@pytest.mark.parametrize(
    ("documents", "expected"),
    [case[1:] for case in SAME_ACCOUNT],
    ids=[case[0] for case in SAME_ACCOUNT],
)
def test_a_same_account_decision_says_why(
    documents: dict[str, Any], expected: tuple[bool | None, str, str]
) -> None:
    assert said(run(principal(boundary="boundary" in documents), **documents)) == expected


def test_a_users_repository_grant_escapes_its_boundary() -> None:
    documents: dict[str, Any] = {
        "boundary": (CAP, policy(allow("s3:*"))),
        "repository": grant(USER),
    }
    decision = run(principal(USER, "user", boundary=True), **documents)
    assert decision.source == "repository" and decision.allowed is True


def test_an_action_without_a_resource_is_decided_on_star_by_identity_policies_only() -> None:
    nothing = run(resource=None, identity={"p": policy(allow("s3:*"))})
    assert said(nothing) == (
        False,
        "no identity policy statement allows it on * (implicit deny)",
        "none",
    )
    # A repository grant plays no part in an action on no repository.
    ignored = run(resource=None, repository=grant(ROLE))
    assert ignored.allowed is False and ignored.source == "none"
    # Only the policy's "*" resource covers it.
    on_repo = run(resource=None, identity={"p": policy(allow(PUT, REPO))})
    assert on_repo.allowed is False
    # A principal of another account calling it is decided by its own policies alone.
    foreign = run(principal(FOREIGN), resource=None, identity={"p": policy(allow())})
    assert said(foreign) == (True, "allowed by identity policy 'p' statement 1", "identity")


# --- Explicit denies, wherever they are, and caveats ---

ROOT_LEVEL = "root r-ab12"
OPEN = policy(allow("*"))


@pytest.mark.parametrize(
    ("documents", "where", "source"),
    [
        (
            {"scps": (OrgLevel(ROOT_LEVEL, {"Open": OPEN, "Guard": policy(deny(PUT))}),)},
            f"SCP 'Guard' on {ROOT_LEVEL} statement 1",
            "scp",
        ),
        (
            {"repository": grant("*", "Deny", Sid="No")},
            "the repository policy statement 'No'",
            "repository",
        ),
        (
            {"identity": {"p": policy(allow()), "q": policy(deny())}},
            "identity policy 'q' statement 1",
            "identity",
        ),
        (
            {"boundary": (CAP, policy(allow(), deny(PUT)))},
            f"the permissions boundary {CAP} statement 2",
            "boundary",
        ),
    ],
    ids=["scp", "repository", "identity", "boundary"],
)
def test_an_explicit_deny_names_its_document(
    documents: dict[str, Any], where: str, source: str
) -> None:
    documents.setdefault("identity", {"p": policy(allow())})
    decision = run(principal(boundary="boundary" in documents), **documents)
    assert said(decision) == (False, f"explicitly denied by {where}", source)
    assert decision.caveats == ()


def test_a_deny_only_under_conditions_is_a_caveat_from_every_document() -> None:
    maybe = policy(deny(Condition=UNKNOWN_KEY))
    decision = run(
        principal(boundary=True),
        identity={"p": policy(allow()), "q": maybe},
        boundary=(CAP, policy(allow(), deny(Condition=UNKNOWN_KEY))),
        repository=grant("*", "Deny", Condition=UNKNOWN_KEY),
        scps=(OrgLevel(ROOT_LEVEL, {"Open": OPEN, "Maybe": maybe}),),
    )
    tail = "(under conditions ecrbot can't know)"
    assert decision.allowed is True
    assert decision.caveats == (
        f"may be denied by SCP 'Maybe' on {ROOT_LEVEL} statement 1 {tail}",
        f"may be denied by the repository policy statement 1 {tail}",
        f"may be denied by identity policy 'q' statement 1 {tail}",
        f"may be denied by the permissions boundary {CAP} statement 2 {tail}",
    )


def test_a_deny_whose_conditions_do_not_hold_is_no_caveat() -> None:
    elsewhere = deny(Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
    decision = run(identity={"p": policy(allow(), elsewhere)})
    assert decision.allowed is True and decision.caveats == ()


def test_documents_not_read_are_each_named_once_in_the_caveats() -> None:
    lost = Unreadable("identity policy 'x'", "not valid JSON")
    level = OrgLevel(ROOT_LEVEL, {"Open": OPEN}, (Unreadable("SCP 'y'", "access denied"),))
    decision = run(identity={"p": policy(allow())}, unreadable=(lost, lost), scps=(level,))
    assert decision.allowed is True
    assert decision.caveats == (
        "identity policy 'x' was not read (not valid JSON)",
        "SCP 'y' was not read (access denied)",
    )


# --- SCPs: every level must allow ---


def test_a_level_without_an_allowing_scp_denies_or_is_unknown_if_one_was_not_read() -> None:
    identity = {"p": policy(allow())}
    levels = (
        OrgLevel(ROOT_LEVEL, {"Open": OPEN}),
        OrgLevel("OU ou-1", {"S3": policy(allow("s3:*"))}),
        OrgLevel("OU ou-2", {}, (Unreadable("SCP 'z'", "gone"),)),
    )
    assert said(run(identity=identity, scps=levels)) == (
        False,
        "no SCP attached to OU ou-1 allows it (SCPs must allow an action at every level of the "
        "organization)",
        "scp",
    )
    unread = run(identity=identity, scps=(levels[0], levels[2]))
    assert said(unread) == (None, "the SCPs on OU ou-2 could not all be read", "unknown")
    # A level whose allowing SCP is readable is allowed, whatever else was skipped there.
    skipped = OrgLevel("OU ou-3", {"Open": OPEN}, (Unreadable("SCP 'w'", "gone"),))
    assert run(identity=identity, scps=(levels[0], skipped)).allowed is True


# --- Across accounts: both sides must allow ---

CROSS: list[tuple[str, dict[str, Any], tuple[bool | None, str, str]]] = [
    (
        "no repository policy",
        {"identity": {"p": policy(allow())}},
        (
            False,
            f"cross-account: the repository policy in account {ACCOUNT} must allow "
            f"{FOREIGN} too, and the repository has no policy",
            "repository",
        ),
    ),
    (
        "a repository policy that names someone else",
        {"identity": {"p": policy(allow())}, "repository": grant("999999999999")},
        (
            False,
            f"cross-account: the repository policy in account {ACCOUNT} must allow "
            f"{FOREIGN} too, and no statement of it allows the principal or its account",
            "repository",
        ),
    ),
    (
        "identity policies ecrbot can't read",
        {"identity": None, "repository": grant(OTHER)},
        (
            None,
            "the repository policy statement 1 allows it; the identity policies of "
            f"{FOREIGN} are in account {OTHER}, which ecrbot's credentials can't read: check "
            "them there",
            "unknown",
        ),
    ),
    (
        "no identity policy that allows it",
        {"identity": {"p": policy(allow("s3:*"))}, "repository": grant(FOREIGN)},
        (
            False,
            "cross-account: the repository policy statement 1 allows it, but no identity "
            f"policy of {FOREIGN} does (both must)",
            "none",
        ),
    ),
    (
        "a boundary without the action",
        {
            "identity": {"p": policy(allow())},
            "repository": grant(FOREIGN),
            "boundary": (CAP, policy(allow("s3:*"))),
        },
        (
            False,
            f"the permissions boundary {CAP} {CAPS}; identity policy 'p' statement 1 allows it",
            "boundary",
        ),
    ),
    (
        "both sides, the repository naming the account",
        {"identity": {"p": policy(allow())}, "repository": grant(f"arn:aws:iam::{OTHER}:root")},
        (
            True,
            "allowed by identity policy 'p' statement 1 and the repository policy "
            "statement 1 (cross-account: both must allow)",
            "identity",
        ),
    ),
    (
        "both sides, the repository naming the principal before its account",
        {
            "identity": {"p": policy(allow())},
            "repository": policy(
                {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": PUT},
                {"Sid": "Role", "Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": PUT},
            ),
        },
        (
            True,
            "allowed by identity policy 'p' statement 1 and the repository policy "
            "statement 'Role' (cross-account: both must allow)",
            "identity",
        ),
    ),
]


@pytest.mark.parametrize(
    ("documents", "expected"), [case[1:] for case in CROSS], ids=[case[0] for case in CROSS]
)
def test_a_cross_account_decision_says_why(
    documents: dict[str, Any], expected: tuple[bool | None, str, str]
) -> None:
    who = principal(FOREIGN, boundary="boundary" in documents)
    assert said(run(who, **documents)) == expected

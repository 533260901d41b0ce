"""What `/ecr diagnose` says of a role's identity policies (`bot.domain.iam.permissions`): each
push action's verdict and the statement behind it, the over-broad grants it warns about, and
the least-privilege policy it offers, word for word (issue #17's mutation floor)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.iam.permissions import (
    PUSH_ACTIONS,
    broad_push_grants,
    evaluate_permissions,
    least_privilege_policy,
)
from bot.domain.iam.policy import Policy, parse_policy

REPO = "arn:aws:ecr:eu-west-2:123456789012:repository/app"
TOKEN, PUT = "ecr:GetAuthorizationToken", "ecr:PutImage"
VPCE = {"StringEquals": {"aws:SourceVpce": "vpce-1", "aws:SourceIp": "10.0.0.1"}}
TLS = {"Bool": {"aws:SecureTransport": "true"}}


def policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)})


def st(effect: str = "Allow", action: Any = "ecr:*", resource: Any = "*", **extra: Any) -> Any:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


VERDICTS: list[tuple[str, dict[str, Policy], str, bool, str]] = [
    ("a plain allow", {"p": policy(st())}, PUT, True, "allowed by policy 'p' statement 1"),
    (
        "an allow only under conditions",
        {"p": policy(st(Sid="Vpc", Condition={**VPCE, **TLS}))},
        PUT,
        True,
        "allowed by policy 'p' statement 'Vpc' only under conditions (StringEquals "
        "aws:SourceVpce, StringEquals aws:SourceIp, Bool aws:SecureTransport)",
    ),
    (
        "a plain allow is named before a conditional one",
        {"p": policy(st(Condition=TLS), st(action=PUT))},
        PUT,
        True,
        "allowed by policy 'p' statement 2",
    ),
    (
        "a plain deny wins over an earlier allow",
        {"p": policy(st()), "q": policy(st("Allow", "s3:*"), st("Deny", PUT, REPO))},
        PUT,
        False,
        "denied by policy 'q' statement 2",
    ),
    (
        "a deny only under conditions is a caveat",
        {"p": policy(st()), "q": policy(st("Deny", Condition=TLS), st("Deny", Condition=VPCE))},
        PUT,
        True,
        "allowed by policy 'p' statement 1; denied by policy 'q' statement 1 only under "
        "conditions (Bool aws:SecureTransport); denied by policy 'q' statement 2 only under "
        "conditions (StringEquals aws:SourceVpce, StringEquals aws:SourceIp)",
    ),
    (
        "a deny only under conditions and no allow",
        {"q": policy(st("Deny", Condition=TLS))},
        PUT,
        False,
        f"no statement allows it on {REPO} (implicit deny)",
    ),
    (
        "nothing allows it",
        {"p": policy(st(action="s3:*"), st(resource=REPO + "-other"))},
        PUT,
        False,
        f"no statement allows it on {REPO} (implicit deny)",
    ),
    (
        "the token action is decided on '*'",
        {"p": policy(st(action=TOKEN, resource=REPO))},
        TOKEN,
        False,
        "no statement allows it on * (implicit deny)",
    ),
    (
        "the token action, in any case, is decided on '*'",
        {"p": policy(st(action="ecr:*", resource=REPO))},
        "ECR:getAuthorizationToken",
        False,
        "no statement allows it on * (implicit deny)",
    ),
]


@pytest.mark.parametrize(
    ("policies", "action", "allowed", "via"),
    [case[1:] for case in VERDICTS],
    ids=[case[0] for case in VERDICTS],
)
def test_each_action_is_decided_and_says_through_what(
    policies: dict[str, Policy], action: str, allowed: bool, via: str
) -> None:
    (decision,) = evaluate_permissions(policies, [action], REPO).values()
    assert (decision.action, decision.allowed, decision.via) == (action, allowed, via)


def test_every_action_asked_is_decided() -> None:
    decisions = evaluate_permissions(
        {"p": policy(st(action=PUT, resource=REPO))}, PUSH_ACTIONS, REPO
    )
    assert list(decisions) == list(PUSH_ACTIONS)
    assert [action for action, d in decisions.items() if d.allowed] == [PUT]


TAIL = ": grant the push actions by name on the repository's ARN (only " + TOKEN + " needs '*')."
ALL = ", ".join(PUSH_ACTIONS)
BUT_TOKEN = ", ".join(PUSH_ACTIONS[1:])
EVERY_REPO = "arn:aws:ecr:eu-west-2:123456789012:repository/*"

BROAD: list[tuple[str, Policy, tuple[str, ...]]] = [
    (
        "ecr:* on *",
        policy(st()),
        (f"Policy 'p' statement 1 grants {ALL} through 'ecr:*' on '*'{TAIL}",),
    ),
    (
        "named actions on every repository",
        policy(st(action=[PUT, "ecr:UploadLayerPart"], resource=[REPO, EVERY_REPO], Sid="S")),
        (f"Policy 'p' statement 'S' grants ecr:UploadLayerPart, {PUT} on '{EVERY_REPO}'{TAIL}",),
    ),
    (
        "named actions on two broad resources",
        policy(st(action=PUT, resource=["*", EVERY_REPO])),
        (f"Policy 'p' statement 1 grants {PUT} on '*', '{EVERY_REPO}'{TAIL}",),
    ),
    (
        "wildcards on one repository",
        policy(st(action=["ecr:Put*", "ecr:*Upload"], resource=REPO)),
        (
            f"Policy 'p' statement 1 grants ecr:InitiateLayerUpload, ecr:CompleteLayerUpload, "
            f"{PUT} through 'ecr:Put*', 'ecr:*Upload'{TAIL}",
        ),
    ),
    (
        "NotAction and NotResource",
        policy({"Effect": "Allow", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::*"}),
        (f"Policy 'p' statement 1 grants {ALL} through 'NotAction' on 'NotResource'{TAIL}",),
    ),
    (
        "the token action through a wildcard on '*'",
        policy(st(action="ecr:GetAuth*")),
        (f"Policy 'p' statement 1 grants {TOKEN} through 'ecr:GetAuth*'{TAIL}",),
    ),
    (
        "the token action through a wildcard on a repository",
        policy(st(action="ecr:Get*", resource=REPO)),
        (),
    ),
    (
        "the token action through a wildcard on a literal '*'",
        policy(st(action="ecr:GetAuth*", resource="${*}")),
        (f"Policy 'p' statement 1 grants {TOKEN} through 'ecr:GetAuth*'{TAIL}",),
    ),
    ("the token action by name on '*'", policy(st(action=["ECR:GetAuthorizationToken"])), ()),
    (
        "named actions on one repository",
        policy(st(action=["ecr:putimage", PUT], resource=REPO)),
        (),
    ),
    ("a deny", policy(st("Deny")), ()),
    ("other services", policy(st(action="s3:*")), ()),
    (
        "every repository of another service",
        policy(st(action=PUT, resource="arn:aws:s3:::*/x")),
        (),
    ),
]


@pytest.mark.parametrize(
    ("document", "sentences"), [case[1:] for case in BROAD], ids=[case[0] for case in BROAD]
)
def test_broad_push_grants_are_named_with_how(document: Policy, sentences: tuple[str, ...]) -> None:
    assert broad_push_grants({"p": document}, PUSH_ACTIONS) == sentences


def test_each_broad_statement_of_each_policy_is_named() -> None:
    policies = {"a": policy(st(action="s3:*"), st()), "b": policy(st(action=PUT, resource="*"))}
    assert broad_push_grants(policies, [PUT]) == (
        f"Policy 'a' statement 2 grants {PUT} through 'ecr:*' on '*'{TAIL}",
        f"Policy 'b' statement 1 grants {PUT} on '*'{TAIL}",
    )


def test_the_least_privilege_policy_of_a_repository() -> None:
    assert least_privilege_policy(REPO) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "GetAuthorizationToken", "Effect": "Allow", "Action": TOKEN, "Resource": "*"},
            {"Sid": "PushToRepository", "Effect": "Allow", "Action": list(PUSH_ACTIONS[1:]),
             "Resource": REPO},
            {"Sid": "ReadForPreflight", "Effect": "Allow",
             "Action": ["ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer"],
             "Resource": REPO},
        ],
    }  # fmt: skip
    china = "arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/app_1.x-y"
    assert least_privilege_policy(china)["Statement"][1]["Resource"] == china


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:ecr:eu-west-2:12345678901:repository/app",
        "arn:aws:ecr:eu-west-2:123456789012:repository/App",
        "arn:aws:ecr:eu-west-2:123456789012:repository/",
        "arn:aws:s3:eu-west-2:123456789012:repository/app",
        "arn:aws:ecr::123456789012:repository/app",
        "xarn:aws:ecr:eu-west-2:123456789012:repository/app",
        "arn:aws:ecr:eu-west-2:123456789012:repository/app ",
        "app",
    ],
)
def test_only_a_repository_arn_gets_a_policy(arn: str) -> None:
    with pytest.raises(ValueError) as refused:
        least_privilege_policy(arn)
    assert str(refused.value) == (
        f"not an ECR repository ARN: {arn!r} (expected arn:aws:ecr:REGION:ACCOUNT:repository/NAME)"
    )

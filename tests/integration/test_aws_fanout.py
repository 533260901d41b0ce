"""A role's and the key users' IAM reads fan out on `aws_fanout`, and each key user's on
`aws_leaves`, with the same facts as read one after another, each call still made once (moto,
in an account of its own)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from bot.adapters.aws_facts import AwsFacts
from bot.runtime.executors import Concurrency, Executors
from tests.diagnose_seed import push_policy
from tests.e2e.harness import REGION, account_session, service_env

pytestmark = pytest.mark.integration

ALLOW_PULL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}],
}


class CountingPool(ThreadPoolExecutor):
    """The fan-out pool, counting what it was given (a nested fan-out would deadlock it)."""

    def __init__(self, name: str = "test-fanout") -> None:
        super().__init__(max_workers=2, thread_name_prefix=name)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[str, Any, str]]:
    """An account with a role (two inline policies, two managed ones, a boundary) and four
    users: three with active keys (one through a group), one whose only key is inactive."""
    account = f"5{secrets.randbelow(10**11):011d}"
    session = account_session(account)
    iam = session.client("iam", region_name="us-east-1")
    repo = f"arn:aws:ecr:{REGION}:{account}:repository/app"
    managed = [
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        for name, document in (("push", push_policy(repo)), ("pull", ALLOW_PULL))
    ]
    iam.create_role(
        RoleName="ci",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        PermissionsBoundary=managed[0],
    )
    for name in ("a", "b"):
        iam.put_role_policy(RoleName="ci", PolicyName=name, PolicyDocument=json.dumps(ALLOW_PULL))
    for arn in managed:
        iam.attach_role_policy(RoleName="ci", PolicyArn=arn)
    iam.create_group(GroupName="pushers")
    iam.put_group_policy(GroupName="pushers", PolicyName="g", PolicyDocument=json.dumps(ALLOW_PULL))
    iam.attach_group_policy(GroupName="pushers", PolicyArn=managed[0])
    for user in ("u1", "u2", "u3", "idle"):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        if user == "idle":
            iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
    iam.attach_user_policy(UserName="u1", PolicyArn=managed[1])
    iam.put_user_policy(UserName="u2", PolicyName="inline", PolicyDocument=json.dumps(ALLOW_PULL))
    iam.add_user_to_group(UserName="u3", GroupName="pushers")
    yield account, session, f"arn:aws:iam::{account}:role/ci"


def facts(
    account: tuple[str, Any, str],
    fanout: ThreadPoolExecutor | None,
    leaves: ThreadPoolExecutor | None = None,
) -> AwsFacts:
    executors = Executors(Concurrency())
    return AwsFacts(
        REGION,
        account[0],
        endpoint_url=service_env()["AWS_ENDPOINT_URL"],
        session=account[1],
        pool=executors.pool("aws_calls"),
        fanout=fanout,
        leaves=leaves,
    )


def test_fanned_out_reads_find_what_sequential_reads_find(
    account: tuple[str, Any, str],
) -> None:
    pool = CountingPool()
    one_by_one, fanned = facts(account, None), facts(account, pool)
    role, users = fanned.role(account[2]).result(), fanned.key_users().result()
    assert role.ok and users.ok, (role.error, users.error)
    assert role == one_by_one.role(account[2]).result()
    assert users == one_by_one.key_users().result()
    # The role's three chains and the four users' reads; nothing nested fanned out again.
    assert pool.submitted == 3 + 4
    assert role.value is not None and role.value.boundary is not None
    policy = f"arn:aws:iam::{account[0]}:policy/"
    assert set(role.value.policies) == {"inline:a", "inline:b", policy + "push", policy + "pull"}
    assert [user.name for user in users.value or ()] == ["u1", "u2", "u3"]
    by_name = {user.name: user for user in users.value or ()}
    assert set(by_name["u3"].policies) == {
        "group:pushers:g",
        policy + "push",
    }
    assert fanned.calls == one_by_one.calls  # the same reads, each once
    assert {call: n for call, n in fanned.calls.items() if n > 1} == {}
    pool.shutdown()


def test_each_key_users_policies_fan_out_again_on_the_leaf_pool(
    account: tuple[str, Any, str],
) -> None:
    fanout, leaves = CountingPool(), CountingPool("test-leaves")
    one_by_one, fanned = facts(account, None), facts(account, fanout, leaves)
    users = fanned.key_users().result()
    assert users.ok, users.error
    assert users == one_by_one.key_users().result()
    # Four users on the fan-out pool; the three with an active key read their inline, managed
    # and group policies on the leaf pool, whose reads fan out no further.
    assert (fanout.submitted, leaves.submitted) == (4, 3 * 3)
    assert fanned.calls == one_by_one.calls
    assert {call: n for call, n in fanned.calls.items() if n > 1} == {}
    fanout.shutdown()
    leaves.shutdown()

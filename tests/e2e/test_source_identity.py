"""Each person's name in CloudTrail, over signed HTTP: with a role for the home registry and
another for prod, a push and a promotion reach AWS only through role sessions assumed with the
requester's Slack user id as `SourceIdentity` and the app and job as session tags. The AWS
stand-in records every `AssumeRole` (moto serves STS but checks none of it)."""

from __future__ import annotations

from tests.e2e.harness import ACCOUNT, ALICE, REGION, account_session, wait_until
from tests.e2e.test_diagnose import diagnose_thread
from tests.e2e.test_promote import answer, promotion_thread
from tests.e2e.world import World, assert_succeeded
from tests.standins.aws_faults import AwsFaults

HOME_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecrbot-home"
PROD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecrbot-promote"


def test_every_assume_role_of_a_push_and_a_promotion_names_the_requester(world: World) -> None:
    prod_repo = f"{world.app}-prod"
    world.create_repository()
    world.create_repository(name=prod_repo)
    world.home_role = HOME_ROLE
    world.registries = {"prod": {"account_id": ACCOUNT, "region": REGION, "role": PROD_ROLE}}
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "prod", "repository": prod_repo}
    ]
    with AwsFaults(world.env["AWS_ENDPOINT_URL"]) as aws:
        world.start_bot(AWS_ENDPOINT_URL=aws.url)
        job = world.push(world.sample.shas[0], "1.0.0")
        assert_succeeded(world.wait_finished(job))
        source = world.registry_tags()["1.0.0"]
        accepted, _ = answer(world, f"promote {world.app} 1.0.0 prod")
        assert "Promoting" in accepted, accepted
        parent, thread = wait_until(lambda: promotion_thread(world), timeout=60)
        assumed = list(aws.assumed)
    assert parent["metadata"]["event_payload"]["state"] == "succeeded", thread[-1]["text"]
    # The digest equal on both sides, under the version and the SHA tag the push gave it.
    assert world.registry_tags(prod_repo) == {"1.0.0": source, world.sample.shas[0]: source}

    assert assumed, "no AssumeRole at all"
    for call in assumed:
        assert call["SourceIdentity"] == ALICE, call
        assert call["Tags"]["ecrbot-app"] == world.app, call
        assert call["TransitiveTagKeys"] == ["ecrbot-app", "ecrbot-job"], call
    jobs = {(call["RoleArn"], call["Tags"]["ecrbot-job"]) for call in assumed}
    # The push through the home role; the promotion reads home and writes prod, each in its role.
    assert jobs == {
        (HOME_ROLE, f"push-{job}"),
        (HOME_ROLE, "promote-prod"),
        (PROD_ROLE, "promote-prod"),
    }, jobs
    assert {call["RoleSessionName"] for call in assumed} == {
        f"ecrbot-{ALICE}-push-{job}",
        f"ecrbot-{ALICE}-promote-prod",
    }
    print(f"AssumeRole calls: {len(assumed)} for one push and one promotion")


SECOND_ACCOUNT = "210987654321"  # the test services' second registry (ECR_HOST_2)


def test_a_promotion_into_another_account_copies_every_blob_as_the_requester(
    world: World,
) -> None:
    """prod is another account's ECR: the role assumed there acts in that account (moto), the
    copy goes to that account's registry host (its own storage: every blob is sent), and ECR in
    that account describes the same digest."""
    prod_role = f"arn:aws:iam::{SECOND_ACCOUNT}:role/ecrbot-promote"
    prod_ecr = account_session(SECOND_ACCOUNT).client(
        "ecr", endpoint_url=world.env["AWS_ENDPOINT_URL"]
    )
    prod_ecr.create_repository(repositoryName=world.app)
    world.create_repository()
    world.registries = {"prod": {"account_id": SECOND_ACCOUNT, "region": REGION, "role": prod_role}}
    world.apps[world.app]["environments"] = [
        {"name": "prod", "registry": "prod"},
        {"name": "dr", "registry": "prod", "repository": f"{world.app}-dr"},  # not created
    ]
    with AwsFaults(world.env["AWS_ENDPOINT_URL"]) as aws:
        world.start_bot(AWS_ENDPOINT_URL=aws.url)
        assert_succeeded(world.wait_finished(world.push(world.sample.shas[0], "1.0.0")))
        source = world.registry_tags()["1.0.0"]
        accepted, _ = answer(world, f"promote {world.app} 1.0.0 prod")
        assert "Promoting" in accepted, accepted
        parent, thread = wait_until(lambda: promotion_thread(world), timeout=90)
        assumed = list(aws.assumed)
        # Diagnose reads each environment's repository in its registry, through its role.
        assert "Diagnosing" in world.slash(f"diagnose {world.app}").json()["text"]
        _, replies = diagnose_thread(world, "release.targets")
    assert parent["metadata"]["event_payload"]["state"] == "succeeded", thread[-1]["text"]
    assert world.env["ECR_HOST_2"] in str(thread)  # the target is the other account's host
    details = prod_ecr.describe_images(repositoryName=world.app)["imageDetails"]
    assert [(sorted(d["imageTags"]), d["imageDigest"]) for d in details] == [
        (sorted(["1.0.0", world.sample.shas[0]]), source)
    ]
    (prod_call,) = [call for call in assumed if call["RoleArn"] == prod_role]
    assert prod_call["SourceIdentity"] == ALICE and prod_call["Tags"]["ecrbot-app"] == world.app
    checklist = str([(r.get("text"), r.get("blocks")) for r in replies])
    assert f"prod's repository {world.app} (prod: account {SECOND_ACCOUNT}" in checklist
    assert f"dr's repository {world.app}-dr" in checklist and "does not exist" in checklist
    assert f"--repository-name {world.app}-dr" in checklist

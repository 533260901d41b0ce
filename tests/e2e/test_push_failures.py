"""`/ecr push` when things go wrong: every failure is explained in Slack with the runbook's fix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.e2e.world import World, assert_succeeded, text_of


@pytest.fixture
def edge(world: World) -> Iterator[str]:
    """The ECR edge's fault control for this world's repository; cleared afterwards."""
    url = f"{world.env['ECR_EDGE_CONTROL_URL']}/faults/{world.app}"
    yield url
    requests.delete(url, timeout=5)


def failure_of(world: World, job: int) -> str:
    parent = world.wait_finished(job)
    assert parent["text"].startswith("❌"), text_of(parent)
    return text_of(parent)


@pytest.mark.parametrize(
    ("builder", "engine_says"),
    [
        ("buildkit", "exit code: 3"),  # `executor failed running [...]: exit code: 3`
        ("classic", "returned a non-zero code: 3"),
    ],
)
def test_a_failing_run_step_shows_the_step_the_fix_and_the_log(
    world: World, builder: str, engine_says: str
) -> None:
    world.create_repository()
    world.apps[world.app]["builder"] = builder
    sha = world.sample.commit(
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", '
        '"echo compiling; exit 3"]\n',
        "broken",
    )
    world.start_bot()
    shown = failure_of(world, world.push(sha, "1.0.0"))
    assert "Failed at *build*: A RUN step in the Dockerfile failed" in shown
    assert "docker build ." in shown  # the runbook's fix
    assert "compiling" in shown  # the last lines of the build log
    assert engine_says in shown
    assert '"Retry"' in shown
    assert world.registry_tags() == {}


@pytest.mark.parametrize(
    ("fault", "title"),
    [
        ("bad_credentials", "The registry refused the credentials"),
        ("expired_token", "The ECR login token has expired"),
        ("deny_upload", "The role may not push to this repository"),
    ],
)
def test_registry_refusals_are_explained(world: World, edge: str, fault: str, title: str) -> None:
    world.create_repository()
    requests.put(edge, json={"fault": fault}, timeout=5).raise_for_status()
    world.start_bot()
    shown = failure_of(world, world.push(world.sample.shas[0]))
    assert f"Failed at *push*: {title}" in shown or f": {title}" in shown, shown


def test_an_immutable_tag_on_another_image_is_refused_before_building(world: World) -> None:
    world.create_repository(immutable=True)
    world.start_bot()
    first = world.sample.shas[0]
    assert_succeeded(world.wait_finished(world.push(first, "1.0.0")))
    second = world.sample.commit(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY VERSION /VERSION\n", "v2"
    )
    shown = failure_of(world, world.push(second, "1.0.0"))
    assert "already names another image in an immutable repository" in shown
    assert "push with a new version" in shown
    assert set(world.registry_tags()) == {first, "1.0.0"}


def test_a_repository_missing_in_ecr_is_explained(world: World) -> None:
    world.start_bot()  # no create_repository()
    shown = failure_of(world, world.push(world.sample.shas[0]))
    assert "The ECR repository does not exist" in shown
    assert "aws ecr create-repository" in shown


def test_an_unreachable_docker_engine_is_explained(world: World) -> None:
    world.create_repository()
    world.start_bot(DOCKER_HOST="unix:///run/no-docker-here.sock")
    shown = failure_of(world, world.push(world.sample.shas[0]))
    assert "The Docker engine is unreachable" in shown
    assert "DOCKER_HOST" in shown

"""`/ecr push` end to end: signed HTTP in, Slack calls and registry contents out."""

from __future__ import annotations

from tests.e2e.world import World, text_of


def test_push_with_version_lands_both_tags_with_labels_and_reports_digest(world: World) -> None:
    world.create_repository()
    world.start_bot()
    sha = world.sample.shas[0]

    job = world.push(sha, "1.4.0")
    parent = world.wait_finished(job)

    tags = world.registry_tags()
    assert set(tags) == {sha, "1.4.0"}
    assert tags[sha] == tags["1.4.0"]
    shown = text_of(parent)
    assert "✅" in shown and tags[sha] in shown
    assert f"{world.env['ECR_HOST']}/{world.app}:{sha}" in shown
    assert f"{world.env['ECR_HOST']}/{world.app}:1.4.0" in shown
    labels = world.image_labels(sha)
    assert labels["org.opencontainers.image.revision"] == sha
    assert labels["org.opencontainers.image.version"] == "1.4.0"
    assert labels["org.opencontainers.image.source"] == str(world.sample.path)
    assert "Run diagnose" in shown

"""The pipeline against ECR as it is now (read 2026-12-06): per-tag mutability, archived
images, create-on-push and managed signing, on fakes (the adapters' side is Stubber-tested in
test_ecr_features_adapter.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.ecr_features import CreationTemplate, SigningStatus
from bot.domain.errors import PipelineError, StepError
from bot.domain.models import Step
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import RemoteImage, RepositoryInfo
from bot.domain.tag_mutability import TagMutability
from tests.fakes import HOST, OTHER_SHA, SHA, FakeEngine, FakeRegistry, FakeSource
from tests.unit.test_pipeline import NOW, run

PROFILE = "arn:aws:signer:eu-west-2:123456789012:/signing-profiles/ecrbot_ci"


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def registry(engine: FakeEngine) -> FakeRegistry:
    return FakeRegistry(engine)


@pytest.fixture
def pipeline(tmp_path: Path, engine: FakeEngine, registry: FakeRegistry) -> PushPipeline:
    return PushPipeline(FakeSource(tmp_path), engine, registry, clock=lambda: NOW)


def repository(immutable: bool, *exclusions: str) -> RepositoryInfo:
    return RepositoryInfo("my-app", f"{HOST}/my-app", immutable, exclusions)


def test_an_excluded_latest_moves_in_an_immutable_repository(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    # IMMUTABLE_WITH_EXCLUSION (latest): ECR accepts moving `latest`; ecrbot used to refuse.
    registry.repos["my-app"] = repository(True, "latest")
    registry.images[("my-app", "latest")] = RemoteImage("sha256:old", ("latest",), 9, OTHER_SHA)

    result, events = run(pipeline, tag_latest=True)

    warnings = [e.message for e in events if e.kind == "warning"]
    assert len(warnings) == 1 and "exclusion filter `latest`" in warnings[0]
    assert [tag for _, tag, _ in engine.pushes] == [SHA]
    assert [tag for _, _, tag in registry.retags] == ["1.4.0", "latest"]
    assert result.pushed  # type: ignore[attr-defined]


def test_a_protected_version_is_refused_in_a_mutable_repository(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    # MUTABLE_WITH_EXCLUSION (v*): ECR would answer ImageTagAlreadyExistsException.
    registry.repos["my-app"] = repository(False, "v*")
    registry.images[("my-app", "v1.4.0")] = RemoteImage("sha256:old", ("v1.4.0",), 9, OTHER_SHA)

    with pytest.raises(PipelineError) as caught:
        run(pipeline, version="v1.4.0")

    failure = caught.value.failure
    assert failure.step is Step.PREFLIGHT
    assert "exclusion filter `v*` of MUTABLE_WITH_EXCLUSION" in failure.title
    assert engine.builds == []


def test_an_unprotected_tag_still_moves_in_a_mutable_with_exclusion_repository(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    registry.repos["my-app"] = repository(False, "v*")
    registry.images[("my-app", "1.4.0")] = RemoteImage("sha256:old", ("1.4.0",), 9, OTHER_SHA)

    _, events = run(pipeline)

    assert any("mutable (MUTABLE_WITH_EXCLUSION)" in e.message for e in events)
    assert len(engine.pushes) == 1 and [tag for _, _, tag in registry.retags] == ["1.4.0"]


def test_an_archived_image_under_an_immutable_sha_tag_is_refused_with_the_restore_command(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    registry.images[("my-app", SHA)] = RemoteImage("sha256:arch", (SHA,), 9, None, "ARCHIVED")

    with pytest.raises(PipelineError) as caught:
        run(pipeline, version=None)

    failure = caught.value.failure
    assert "archived image" in failure.title
    assert "can't be pulled" in failure.explanation
    assert "pushing the same image again restores it" in failure.explanation
    assert "update-image-storage-class" in failure.fix and "--region eu-west-2" in failure.fix
    assert engine.builds == [] and registry.retags == []


def test_an_archived_image_under_a_mutable_tag_is_named_and_the_build_goes_on(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    registry.repos["my-app"] = repository(False)
    registry.images[("my-app", SHA)] = RemoteImage("sha256:arch", (SHA,), 9, None, "ARCHIVED")

    result, _ = run(pipeline, version=None)

    assert any("an archived image" in w for w in result.warnings)  # type: ignore[attr-defined]
    assert len(engine.pushes) == 1


def test_create_on_push_builds_and_pushes_without_lookups(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    template = CreationTemplate(
        "teams", ("CREATE_ON_PUSH",), TagMutability("IMMUTABLE"), "KMS", lifecycle_policy=True
    )
    registry.repos["my-app"] = RepositoryInfo("my-app", f"{HOST}/my-app", True, template=template)

    result, events = run(pipeline)

    created = [e.message for e in events if e.step is Step.PREFLIGHT]
    assert "this push creates it from the creation template `teams`" in created[0]
    assert "tags IMMUTABLE, encryption KMS, a lifecycle policy" in created[0]
    # One lookup, verify's after the push: no pre-flight, no cache from a repository not there.
    lookups = [call for call in registry.calls if call in ("find_image", "image_by_digest")]
    assert lookups == ["image_by_digest"]
    assert result.pushed  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("statuses", "said", "warned"),
    [
        ((SigningStatus(PROFILE, "COMPLETE"),), "signed with profile `ecrbot_ci`", False),
        (
            (SigningStatus(PROFILE, "FAILED", "AccessDenied not authorized"),),
            f"FAILED (AccessDenied not authorized): the pusher needs signer:SignPayload on "
            f"`{PROFILE}`",
            True,
        ),
        ((SigningStatus(PROFILE, "IN_PROGRESS"),), "still in progress after 10 s", False),
        (None, "", False),
    ],
)
def test_managed_signing_is_reported_after_the_push(
    pipeline: PushPipeline,
    registry: FakeRegistry,
    statuses: tuple[SigningStatus, ...] | None,
    said: str,
    warned: bool,
) -> None:
    registry.signing = statuses

    result, _ = run(pipeline)

    assert said in result.signing  # type: ignore[attr-defined]
    assert any("signer:SignPayload" in w for w in result.warnings) is warned  # type: ignore[attr-defined]


def test_an_unreadable_signing_status_never_fails_the_push(
    pipeline: PushPipeline, registry: FakeRegistry
) -> None:
    registry.signing_error = "AccessDeniedException: not authorized: ecr:DescribeImageSigningStatus"

    result, _ = run(pipeline)

    assert result.pushed  # type: ignore[attr-defined]
    assert "could not be read (AccessDeniedException" in result.signing  # type: ignore[attr-defined]


def test_the_report_sees_archived_images_lifecycle_rules_and_per_tag_mutability() -> None:
    from datetime import timedelta

    from bot.domain.ecr_features import lifecycle_rules
    from bot.domain.report import ImageInfo, RegistrySnapshot
    from bot.domain.report import RepositoryInfo as Scanned
    from bot.domain.report.model import Catalog
    from bot.domain.report.sections import hygiene

    rules = lifecycle_rules(
        '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": '
        '"sinceImagePulled", "countUnit": "days", "countNumber": 90}, "action": {"type": '
        '"transition", "targetStorageClass": "archive"}}, {"rulePriority": 2, "selection": '
        '{"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", '
        '"countUnit": "days", "countNumber": 180}, "action": {"type": "expire"}}]}'
    )
    images = (
        ImageInfo("sha256:a", ("latest",), NOW - timedelta(days=1), 1, None),
        ImageInfo("sha256:b", ("0.9",), NOW - timedelta(days=200), 1, None, status="ARCHIVED"),
    )
    repo = Scanned("web", "arn", NOW, True, True, "AES256", True, images, 2, ("latest",), rules)
    snap = RegistrySnapshot(NOW, "1", "eu-west-2", (repo,), True, (), (), (), ())
    section = hygiene(snap, Catalog.of(()), NOW)

    texts = [i.message for i in section.items]
    assert any("1 image of 2 archived" in t and "0.9" in t for t in texts)
    assert any("mutable `latest`" in t for t in texts)  # excluded from IMMUTABLE
    assert section.notes == (
        "web lifecycle: rule 1 archives any images not pulled for 90 days; rule 2 expires any "
        "archived images 180 days after they were archived",
    )


def test_a_tag_the_registry_refuses_after_the_push_fails_the_push_step(
    tmp_path: Path, engine: FakeEngine
) -> None:
    # The version is put by digest after the SHA's push: ECR's refusal is the push's failure.
    class Refusing(FakeRegistry):
        def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
            raise StepError(
                Step.PREFLIGHT,
                "registry answered 400: tag invalid: The image tag '1.4.0' already exists",
            )

    pipeline = PushPipeline(FakeSource(tmp_path), engine, Refusing(engine), clock=lambda: NOW)
    with pytest.raises(PipelineError) as caught:
        run(pipeline)
    assert caught.value.failure.step is Step.PUSH
    assert [tag for _, tag, _ in engine.pushes] == [SHA]

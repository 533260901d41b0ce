"""The push pipeline on fakes: tags, labels, pre-flight, failures, cancel."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.cancel import CancelToken, Stop
from bot.domain.errors import Cancelled, PipelineError, UsageError
from bot.domain.models import BuildSecret, BuildSettings, ProgressEvent, PushRequest, Step
from bot.domain.pipeline import PushPipeline
from bot.domain.ports import RemoteImage, RepositoryInfo
from bot.domain.push_rules import plan_tags
from tests.fakes import (
    HOST,
    OTHER_SHA,
    SHA,
    FakeEngine,
    FakeRecords,
    FakeRegistry,
    FakeSource,
    app_spec,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def registry(engine: FakeEngine) -> FakeRegistry:
    return FakeRegistry(engine)


@pytest.fixture
def records() -> FakeRecords:
    return FakeRecords()


@pytest.fixture
def pipeline(
    tmp_path: Path, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> PushPipeline:
    return PushPipeline(FakeSource(tmp_path), engine, registry, clock=lambda: NOW, records=records)


def run(
    pipeline: PushPipeline, sha: str = "1a2b3c4", version: str | None = "1.4.0", **app: object
) -> tuple[object, list[ProgressEvent]]:
    events: list[ProgressEvent] = []
    result = pipeline.run(
        app_spec(**app),
        PushRequest("my-app", sha, version, "U0ALICE"),
        events.append,
        CancelToken(),
    )
    return result, events


def test_push_tags_full_sha_and_version_with_oci_labels(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    result, events = run(pipeline)

    build = engine.builds[0]
    assert build.tag == f"{HOST}/my-app:{SHA}"
    assert build.buildargs == {"GIT_SHA": SHA, "VERSION": "1.4.0"}
    assert build.labels == {
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.version": "1.4.0",
        "org.opencontainers.image.source": "https://github.com/acme/my-app",
        "org.opencontainers.image.created": "2026-11-27T10:00:00+00:00",
    }
    assert [tag for _, tag in engine.tags] == [SHA]
    assert [(uri, tag) for uri, tag, _ in engine.pushes] == [(f"{HOST}/my-app", SHA)]
    # The version names the manifest just pushed: put under it, no layer checked again.
    assert registry.retags == [("my-app", result.digest, "1.4.0")]  # type: ignore[attr-defined]
    assert result.image_uris == (f"{HOST}/my-app:{SHA}", f"{HOST}/my-app:1.4.0")  # type: ignore[attr-defined]
    assert result.pushed is True  # type: ignore[attr-defined]
    steps = [(e.step, e.kind) for e in events if e.kind in ("started", "finished")]
    assert steps[0] == (Step.CHECKOUT, "started")
    assert steps[-1] == (Step.VERIFY, "finished")
    assert any(e.build_step == (2, 2) for e in events)


def test_without_version_only_the_sha_tag_and_never_latest(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    run(pipeline, version=None)
    assert [tag for _, tag in engine.tags] == [SHA]


def test_plan_tags_short_sha_and_latest_opt_in() -> None:
    assert plan_tags(app_spec(sha_tag="short"), SHA, None) == (SHA[:7],)
    assert plan_tags(app_spec(tag_latest=True), SHA, "2.0") == (SHA, "2.0", "latest")


def test_latest_as_version_is_refused_unless_opted_in(pipeline: PushPipeline) -> None:
    with pytest.raises(UsageError, match="SHAs over latest"):
        run(pipeline, version="latest")


def test_invalid_version_is_a_usage_error(pipeline: PushPipeline) -> None:
    with pytest.raises(UsageError, match="not a valid image tag"):
        run(pipeline, version="1.4.0 beta")


def test_repeat_push_of_same_sha_neither_builds_nor_pushes(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> None:
    records.pushed[("my-app", SHA)] = "sha256:aaa"
    registry.images[("my-app", SHA)] = RemoteImage("sha256:aaa", (SHA,), 99, SHA)
    registry.images[("my-app", "1.4.0")] = RemoteImage("sha256:aaa", ("1.4.0",), 99, SHA)

    result, _ = run(pipeline)

    assert engine.builds == [] and engine.pushes == []
    assert result.pushed is False and result.digest == "sha256:aaa"  # type: ignore[attr-defined]


def test_repeat_push_with_a_new_version_retags_the_recorded_digest_without_pushing(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> None:
    records.pushed[("my-app", SHA)] = "sha256:aaa"
    registry.images[("my-app", SHA)] = RemoteImage("sha256:aaa", (SHA,), 99, SHA)

    run(pipeline, version="1.5.0")

    assert engine.pushes == []
    assert registry.retags == [("my-app", "sha256:aaa", "1.5.0")]


def test_an_image_labelled_with_the_sha_that_ecrbot_did_not_build_is_never_reused(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    # Anyone with push access can label an image with the release commit: a claim, not a build.
    registry.repos["my-app"] = RepositoryInfo("my-app", f"{HOST}/my-app", immutable=False)
    registry.images[("my-app", SHA)] = RemoteImage("sha256:evil", (SHA,), 99, SHA)

    result, events = run(pipeline)

    assert len(engine.builds) == 1
    assert result.pushed and result.digest != "sha256:evil"  # type: ignore[attr-defined]
    assert all(source == result.digest for _, source, _ in registry.retags)  # type: ignore[attr-defined]
    warnings = [e.message for e in events if e.kind == "warning"]
    assert any("moves from sha256:evil" in text and "labelled" in text for text in warnings)


def test_a_recorded_digest_ecr_no_longer_holds_is_built_again(
    pipeline: PushPipeline, engine: FakeEngine, records: FakeRecords
) -> None:
    records.pushed[("my-app", SHA)] = "sha256:" + "0d" * 32  # deleted by a lifecycle policy

    result, _ = run(pipeline, version=None)

    assert len(engine.builds) == 1 and result.pushed  # type: ignore[attr-defined]


def test_without_records_the_cli_always_builds(
    tmp_path: Path, engine: FakeEngine, registry: FakeRegistry
) -> None:
    registry.images[("my-app", SHA)] = RemoteImage("sha256:aaa", (SHA,), 99, SHA)
    registry.repos["my-app"] = RepositoryInfo("my-app", f"{HOST}/my-app", immutable=False)
    cli = PushPipeline(FakeSource(tmp_path), engine, registry, clock=lambda: NOW)

    result, _ = run(cli, version=None)

    assert len(engine.builds) == 1 and result.pushed  # type: ignore[attr-defined]
    assert engine.cache_fetches == [] and engine.builds[0].cache_from == ()


def test_immutable_tag_on_another_image_is_refused_before_building(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    registry.images[("my-app", "1.4.0")] = RemoteImage("sha256:bbb", ("1.4.0",), 99, OTHER_SHA)

    with pytest.raises(PipelineError) as caught:
        run(pipeline)

    assert caught.value.failure.step is Step.PREFLIGHT
    assert "immutable" in caught.value.failure.title
    assert engine.builds == []


def test_mutable_tag_on_another_image_warns_and_pushes(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    repo = registry.repos["my-app"]
    registry.repos["my-app"] = type(repo)(repo.name, repo.uri, immutable=False)
    registry.images[("my-app", "1.4.0")] = RemoteImage("sha256:bbb", ("1.4.0",), 99, OTHER_SHA)

    result, events = run(pipeline)

    assert [e.kind for e in events].count("warning") == 1
    assert result.warnings and len(engine.pushes) == 1  # type: ignore[attr-defined]
    assert [tag for _, _, tag in registry.retags] == ["1.4.0"]  # moved to this build


def test_failed_run_step_is_explained_with_the_log_tail(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    engine.build_error = "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    with pytest.raises(PipelineError) as caught:
        run(pipeline)
    failure = caught.value.failure
    assert failure.step is Step.BUILD
    assert failure.title == "A RUN step in the Dockerfile failed"
    assert failure.log_tail[-1] == "Step 2/2 : COPY busybox /bin/busybox"


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("no basic auth credentials", "Docker had no credentials for the registry"),
        (
            "denied: Your authorization token has expired. Reauthenticate and try again.",
            "The ECR login token has expired",
        ),
        (
            "tag invalid: The image tag '1.4.0' already exists in the 'my-app' repository and "
            "cannot be overwritten because the repository is immutable.",
            "That tag already exists and the repository is immutable",
        ),
        (
            "denied: User: arn:aws:sts::1:assumed-role/x is not authorized to perform: "
            "ecr:InitiateLayerUpload on resource: arn",
            "The role may not push to this repository",
        ),
    ],
)
def test_push_errors_are_mapped(
    pipeline: PushPipeline, engine: FakeEngine, raw: str, title: str
) -> None:
    engine.push_error = raw
    with pytest.raises(PipelineError) as caught:
        run(pipeline)
    assert caught.value.failure.step is Step.PUSH
    assert caught.value.failure.title == title


def test_unknown_sha_fails_at_checkout_in_plain_words(pipeline: PushPipeline) -> None:
    with pytest.raises(PipelineError) as caught:
        run(pipeline, sha="deadbee")
    assert caught.value.failure.step is Step.CHECKOUT
    assert "is not in `my-app`'s repository" in caught.value.failure.title


def test_missing_repository_fails_at_authenticate(
    pipeline: PushPipeline, registry: FakeRegistry
) -> None:
    registry.repos.clear()
    with pytest.raises(PipelineError) as caught:
        run(pipeline)
    assert caught.value.failure.title == "The ECR repository does not exist"


def test_cancel_during_build_raises_cancelled(pipeline: PushPipeline, engine: FakeEngine) -> None:
    engine.block_build = threading.Event()
    token = CancelToken()
    outcome: list[BaseException] = []

    def push() -> None:
        try:
            pipeline.run(
                app_spec(), PushRequest("my-app", "1a2b3c4", None, "U"), lambda e: None, token
            )
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=push)
    thread.start()
    assert engine.building.wait(5)
    token.cancel()
    thread.join(5)
    assert isinstance(outcome[0], Cancelled)
    assert engine.pushes == []


@pytest.mark.parametrize(
    ("context", "dockerfile"),
    [(".", "/etc/passwd"), ("../../", "Dockerfile"), (".", "../../../etc/passwd"), ("/", "x")],
)
def test_paths_outside_the_checkout_are_refused_before_building(
    pipeline: PushPipeline, engine: FakeEngine, context: str, dockerfile: str
) -> None:
    with pytest.raises(PipelineError, match="points outside the app's repository"):
        run(pipeline, context=context, dockerfile=dockerfile)
    assert engine.builds == []


def test_a_symlink_out_of_the_checkout_is_refused(
    tmp_path: Path, pipeline: PushPipeline, engine: FakeEngine
) -> None:
    (tmp_path / "Dockerfile.link").symlink_to("/etc/passwd")
    (tmp_path / "ctx").symlink_to("/etc")
    with pytest.raises(PipelineError, match=r"dockerfile `Dockerfile\.link` points outside"):
        run(pipeline, dockerfile="Dockerfile.link")
    with pytest.raises(PipelineError, match="context `ctx` points outside"):
        run(pipeline, context="ctx")
    assert engine.builds == []


def test_a_dockerfile_elsewhere_in_the_checkout_is_fine(
    tmp_path: Path, pipeline: PushPipeline, engine: FakeEngine
) -> None:
    (tmp_path / "app").mkdir()
    run(pipeline, context="app", dockerfile="../docker/Dockerfile")
    assert engine.builds[-1].context == (tmp_path / "app").resolve()
    assert engine.builds[-1].dockerfile == "../docker/Dockerfile"


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../b", "~/x", "a\\..\\..\\b"])
def test_the_catalog_refuses_paths_that_leave_the_repository(path: str) -> None:
    from pydantic import ValidationError

    from bot.config_catalog import AppConfig

    for key in ("dockerfile", "context"):
        with pytest.raises(ValidationError, match="inside the repository"):
            AppConfig.model_validate({"source": "/x", key: path})


EXPIRED = "denied: Your authorization token has expired. Reauthenticate and try again."


def test_a_login_that_expires_during_the_build_is_renewed_once(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry
) -> None:
    engine.push_error = EXPIRED
    engine.push_error_times = 1
    _, events = run(pipeline)
    assert "credentials-fresh" in registry.calls
    assert any(e.kind == "warning" and "expired during the build" in e.message for e in events)
    assert [tag for _, tag, _ in engine.pushes] == [SHA, SHA]
    assert [tag for _, _, tag in registry.retags] == ["1.4.0"]


def test_a_login_refused_twice_fails_in_plain_words(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    engine.push_error = EXPIRED
    with pytest.raises(PipelineError) as failed:
        run(pipeline)
    assert failed.value.failure.title == "The ECR login token has expired"
    assert len(engine.pushes) == 2


# -- BuildKit settings and the registry cache (issue #11) ---------------------------------------


def build_finished(events: list[ProgressEvent]) -> str:
    return next(e.message for e in events if e.step is Step.BUILD and e.kind == "finished")


def test_the_app_build_settings_reach_the_engine(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    secret = BuildSecret("npm", env="NPM_TOKEN")
    settings = BuildSettings(
        target="release",
        build_args=(("NODE_ENV", "production"),),
        secrets=(secret,),
        platforms=("linux/arm64",),
    )
    run(pipeline, build=settings)

    spec = engine.builds[0]
    assert spec.builder == "buildkit" and spec.inline_cache
    assert spec.buildargs == {"NODE_ENV": "production", "GIT_SHA": SHA, "VERSION": "1.4.0"}
    assert (spec.target, spec.secrets, spec.platforms) == ("release", (secret,), ("linux/arm64",))


def test_the_last_image_ecrbot_pushed_seeds_the_build_cache_never_the_newest_in_ecr(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> None:
    mine = RemoteImage("sha256:" + "ab" * 32, (OTHER_SHA,), 10)
    registry.images[("my-app", OTHER_SHA)] = mine
    records.pushed[("my-app", OTHER_SHA)] = mine.digest
    # Pushed later by someone else: the newest in ECR, and never a cache source.
    registry.images[("my-app", "evil")] = RemoteImage("sha256:" + "ee" * 32, ("evil",), 10)
    engine.cached_steps = 1

    _, events = run(pipeline)

    reference = f"{HOST}/my-app@sha256:{'ab' * 32}"
    assert engine.cache_fetches == [reference]
    assert engine.builds[0].cache_from == (reference,)
    shown = build_finished(events)
    assert "1 of 2 steps cached" in shown
    assert "cache: ECR image abababababab (downloaded from ECR)" in shown


def test_a_cache_already_on_the_engine_is_not_downloaded_again(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> None:
    registry.images[("my-app", "old")] = RemoteImage("sha256:" + "cd" * 32, ("old",), 10)
    records.pushed[("my-app", OTHER_SHA)] = "sha256:" + "cd" * 32
    engine.local_images.add(f"{HOST}/my-app@sha256:{'cd' * 32}")

    _, events = run(pipeline)

    assert "(already on this engine)" in build_finished(events)


def test_a_cache_that_cannot_be_read_only_makes_the_build_slower(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> None:
    registry.images[("my-app", "old")] = RemoteImage("sha256:" + "ef" * 32, ("old",), 10)
    records.pushed[("my-app", OTHER_SHA)] = "sha256:" + "ef" * 32
    engine.cache_error = "manifest unknown"

    result, events = run(pipeline)

    assert result.pushed  # type: ignore[attr-defined]
    assert engine.builds[0].cache_from == ()
    assert "no layers from ECR (manifest unknown)" in build_finished(events)


def test_no_registry_cache_for_the_classic_builder_or_when_turned_off(
    pipeline: PushPipeline, engine: FakeEngine, registry: FakeRegistry, records: FakeRecords
) -> None:
    registry.images[("my-app", "old")] = RemoteImage("sha256:" + "ab" * 32, ("old",), 10)
    records.pushed[("my-app", "0" * 40)] = "sha256:" + "ab" * 32

    run(pipeline, build=BuildSettings(builder="classic"))
    run(pipeline, sha=OTHER_SHA, version=None, build=BuildSettings(registry_cache=False))

    assert engine.cache_fetches == []
    assert [spec.inline_cache for spec in engine.builds] == [False, False]
    assert engine.builds[0].builder == "classic"


def test_buildkit_progress_lines_are_build_steps(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    engine.build_lines = [
        "#1 [internal] load build definition from Dockerfile",
        "#5 [build 2/3] RUN make",
        "#5 0.21 compiling",
        "#7 [3/4] COPY --from=build /out /app",
    ]
    _, events = run(pipeline)
    assert [e.build_step for e in events if e.build_step] == [(2, 3), (3, 4)]


def test_a_failed_build_that_mounts_secrets_shows_step_names_only(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    # The build ran code that could read the secret; its output may hold it in forms redaction
    # was never told about, so none of it reaches Slack (the adapter logs the redacted tail).
    engine.build_lines = ["#5 [2/3] RUN cat /run/secrets/npm | rev", "#5 0.21 terces-mpn"]
    engine.build_error = "ERROR: failed to solve: process did not complete successfully"
    secret = BuildSettings(secrets=(BuildSecret("npm", env="ECRBOT_BUILD_SECRET_NPM"),))

    with pytest.raises(PipelineError) as with_secrets:
        run(pipeline, build=secret)
    with pytest.raises(PipelineError) as without:
        run(pipeline, sha=OTHER_SHA)

    assert with_secrets.value.failure.log_tail == ("#5 [2/3] RUN cat /run/secrets/npm | rev",)
    assert "terces-mpn" not in str(with_secrets.value.failure)
    assert "#5 0.21 terces-mpn" in without.value.failure.log_tail


def test_a_job_taken_away_during_the_build_stops_before_the_push(
    pipeline: PushPipeline, engine: FakeEngine
) -> None:
    """The checkpoint re-reads ownership after the build: a reap the heartbeat has not yet
    reported still stops the push (the check stands in for the fleet's ownership read)."""
    token = CancelToken()
    token.add_check(lambda: Stop.INTERRUPT if engine.builds else None)  # lost while building
    with pytest.raises(Cancelled):
        pipeline.run(app_spec(), PushRequest("my-app", "1a2b3c4", "1.4.0", "U0ALICE"), print, token)
    assert len(engine.builds) == 1 and engine.pushes == [] and engine.tags == []
    assert token.cancelled and token.interrupted

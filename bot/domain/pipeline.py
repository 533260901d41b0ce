"""The build-push pipeline of runbook RB-0023.

Checkout, authenticate, pre-flight, build, push, verify.

One implementation serves `/ecr push`, the worker and the `ecrbot push` CLI.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from bot.domain.cancel import CancelToken
from bot.domain.ecr_features import SIGNING_WAIT_S, describe_signing
from bot.domain.errors import Cancelled, PipelineError, StepError, UserError
from bot.domain.failures import explain, token_expired
from bot.domain.models import (
    AppSpec,
    Failure,
    LayerProgress,
    ProgressEvent,
    PushRequest,
    PushResult,
    Step,
)
from bot.domain.ports import (
    BuildRecords,
    BuildSpec,
    BuiltImage,
    Checkout,
    Engine,
    PushedImage,
    Registry,
    RegistryCredentials,
    RepositoryInfo,
    Source,
)
from bot.domain.preflight import Plan, plan_push
from bot.domain.push_rules import (
    oci_labels,
    plan_tags,
    validate_sha,
    validate_version,
)
from bot.domain.text import plain

BUILD_STEP = re.compile(r"^Step (\d+)/(\d+) :")
# BuildKit's plain progress names a Dockerfile step `#7 [stage 2/5] RUN ...` when it starts.
BUILDKIT_STEP = re.compile(r"^#\d{1,6} \[(?:[^\]\s]{1,128} )?(\d{1,6})/(\d{1,6})\] ")
LOG_TAIL_LINES = 20

Emit = Callable[[ProgressEvent], None]


@dataclass
class _Progress:
    """Remembers the last build log lines so a failure can show them."""

    emit: Emit
    log: deque[str]

    def line(self, text: str) -> None:
        text = text.rstrip()[:2000]
        if not text:
            return
        self.log.append(text)
        step = BUILD_STEP.match(text) or BUILDKIT_STEP.match(text)
        if step:
            current, total = int(step.group(1)), int(step.group(2))
            self.emit(ProgressEvent(Step.BUILD, "progress", text, build_step=(current, total)))

    def layers(self, layers: tuple[LayerProgress, ...]) -> None:
        done = sum(1 for layer in layers if layer.done)
        self.emit(
            ProgressEvent(Step.PUSH, "progress", f"{done}/{len(layers)} layers", layers=layers)
        )


class PushPipeline:
    """Runs one push from source to verified image."""

    def __init__(
        self,
        source: Source,
        engine: Engine,
        registry: Registry,
        clock: Callable[[], datetime],
        records: BuildRecords | None = None,
    ) -> None:
        self._source = source
        self._engine = engine
        self._registry = registry
        self._clock = clock
        # What ecrbot itself pushed (the job store). None (`ecrbot push`, which has no store):
        # nothing is ever reused and no image in ECR seeds the build cache; it always builds.
        self._records = records

    def run(
        self, app: AppSpec, request: PushRequest, emit: Emit, cancel: CancelToken
    ) -> PushResult:
        """Push `request` for `app`; raises PipelineError with plain words, or Cancelled."""
        validate_sha(request.sha)
        validate_version(app, request.version)
        started = time.monotonic()
        progress = _Progress(emit, deque(maxlen=LOG_TAIL_LINES))
        step = Step.CHECKOUT
        cancel.checkpoint()  # cancelled or taken away between the claim and now: do nothing
        try:
            emit(ProgressEvent(step, "started", f"Checking out {request.sha}"))
            with self._source.checkout(app, request.sha) as checkout:
                emit(ProgressEvent(step, "finished", _describe_commit(checkout)))
                cancel.raise_if_cancelled()

                step = Step.AUTHENTICATE
                repository = self._registry.repository(app.repository)
                credentials = self._registry.credentials()
                emit(ProgressEvent(step, "finished", f"Authenticated to {plain(repository.host)}"))

                step = Step.PREFLIGHT
                tags = plan_tags(app, checkout.full_sha, request.version)
                recorded = (
                    self._records.pushed_digest(app.name, checkout.full_sha)
                    if self._records is not None
                    else None
                )
                plan = plan_push(
                    self._registry, repository, tags, checkout.full_sha, emit, recorded
                )
                if plan.reusable is not None:
                    cancel.checkpoint()  # retagging writes to the registry: still ours?
                    return self._already_there(repository, tags, plan, checkout, started, emit)
                cancel.raise_if_cancelled()

                step = Step.BUILD
                spec = self._build_spec(app, checkout, repository, tags, request.version)
                builder = "BuildKit" if spec.builder == "buildkit" else "the classic builder"
                emit(
                    ProgressEvent(step, "started", f"Building {plain(app.dockerfile)} ({builder})")
                )
                spec, cache_note = self._registry_cache(app, spec, repository, credentials, cancel)
                built = self._engine.build(spec, progress.line, cancel)
                image_id = built.image_id
                emit(ProgressEvent(step, "finished", _describe_build(built, cache_note)))
                # The last moment a push can be stopped cleanly: re-read that the job is still
                # this runner's (a heartbeat may not have said yet that it was reaped).
                cancel.checkpoint()

                step = Step.PUSH
                emit(ProgressEvent(step, "started", f"Pushing {len(tags)} tag(s)"))
                self._engine.tag(image_id, repository.uri, tags[0])
                pushed, credentials = self._push(repository, tags[0], credentials, progress, cancel)
                self._tag_pushed(repository, pushed.digest, tags[1:])
                emit(ProgressEvent(step, "finished", f"Pushed {pushed.digest}"))

                step = Step.VERIFY
                return self._verify(repository, tags, checkout, pushed.digest, started, plan, emit)
        except (PipelineError, Cancelled):
            raise
        except UserError as error:  # e.g. a SHA that is not in the repository
            raise PipelineError(
                Failure(step, error.message, error.message, error.next_step)
            ) from error
        except StepError as error:
            tail = error.log_tail or tuple(progress.log)
            raw, tail = _shown(app, error.step, error.raw, tail)
            raise PipelineError(explain(error.step, raw, tail)) from error
        except Exception as error:  # adapters' own errors: explained, never shown raw
            if cancel.cancelled:
                raise Cancelled from error
            raw, tail = _shown(app, step, str(error), tuple(progress.log))
            raise PipelineError(explain(step, raw, tail)) from error

    def _push(
        self,
        repository: RepositoryInfo,
        tag: str,
        credentials: RegistryCredentials,
        progress: _Progress,
        cancel: CancelToken,
    ) -> tuple[PushedImage, RegistryCredentials]:
        """Push one tag; a login that expired during a long build is renewed once."""
        try:
            pushed = self._engine.push(repository.uri, tag, credentials, progress.layers, cancel)
            return pushed, credentials
        except StepError as error:
            if not token_expired(error.raw):
                raise
        progress.emit(
            ProgressEvent(
                Step.PUSH, "warning", "The ECR login expired during the build; pushing again"
            )
        )
        credentials = self._registry.credentials(fresh=True)
        pushed = self._engine.push(repository.uri, tag, credentials, progress.layers, cancel)
        return pushed, credentials

    def _tag_pushed(self, repository: RepositoryInfo, digest: str, tags: tuple[str, ...]) -> None:
        """The other tags name the manifest just pushed, put again under each: the engine would
        check every layer once more for each tag (a round trip per layer) to send nothing."""
        for tag in tags:
            try:
                self._registry.add_tag(repository, digest, tag)
            except StepError as error:  # a refusal of this push's tag, whoever says it
                raise StepError(Step.PUSH, error.raw, error.log_tail) from error

    def _already_there(
        self,
        repository: RepositoryInfo,
        tags: tuple[str, ...],
        plan: Plan,
        checkout: Checkout,
        started: float,
        emit: Emit,
    ) -> PushResult:
        image = plan.reusable
        assert image is not None
        for tag in plan.to_tag:  # by digest: the image ecrbot recorded, whatever a tag says now
            self._registry.add_tag(repository, image.digest, tag)
        note = "tagged " + ", ".join(plan.to_tag) if plan.to_tag else "nothing to push"
        emit(ProgressEvent(Step.PREFLIGHT, "finished", f"Already in ECR, {note}; no build"))
        return PushResult(
            image_uris=tuple(f"{repository.uri}:{tag}" for tag in tags),
            digest=image.digest,
            size_bytes=image.size_bytes,
            duration_s=time.monotonic() - started,
            revision=checkout.full_sha,
            pushed=False,
            warnings=tuple(plan.warnings),
        )

    def _build_spec(
        self,
        app: AppSpec,
        checkout: Checkout,
        repository: RepositoryInfo,
        tags: tuple[str, ...],
        version: str | None,
    ) -> BuildSpec:
        context = checkout.inside(app.context, "context")
        dockerfile = checkout.inside(str(Path(app.context) / app.dockerfile), "dockerfile")
        settings = app.build
        buildkit = settings.builder == "buildkit"
        return BuildSpec(
            context=context,
            # Relative to the context as the engine expects; it may step up within the checkout.
            dockerfile=os.path.relpath(dockerfile, context),
            tag=f"{repository.uri}:{tags[0]}",
            # The catalog refuses GIT_SHA and VERSION as build args: these two are the commit's.
            buildargs={
                **dict(settings.build_args),
                "GIT_SHA": checkout.full_sha,
                "VERSION": version or "",
            },
            labels=oci_labels(app, checkout.full_sha, version, self._clock()),
            builder=settings.builder,
            target=settings.target,
            secrets=settings.secrets,
            platforms=settings.platforms,
            inline_cache=buildkit and settings.registry_cache,
        )

    def _registry_cache(
        self,
        app: AppSpec,
        spec: BuildSpec,
        repository: RepositoryInfo,
        credentials: RegistryCredentials,
        cancel: CancelToken,
    ) -> tuple[BuildSpec, str]:
        """Reuse layers of the last image ecrbot itself pushed for the app: an engine that never
        built the app downloads unchanged layers instead of rebuilding them. Never the newest
        image in ECR, whoever pushed it: its layers would become the release's. Never fails."""
        if not spec.inline_cache or self._records is None or repository.template is not None:
            return spec, ""
        try:
            digest = self._records.last_pushed_digest(app.name)
            newest = self._registry.image_by_digest(repository, digest) if digest else None
            if newest is None or newest.status != "ACTIVE":  # an archived image can't be pulled
                return spec, ""
            reference = f"{repository.uri}@{newest.digest}"
            downloaded = self._engine.fetch_cache(reference, credentials, cancel)
        except Cancelled:
            raise
        except Exception as error:  # a cache that can't be read only makes the build slower
            if isinstance(error, StepError):
                reason = error.raw
            elif isinstance(error, UserError):
                reason = error.message
            else:  # an adapter's own error: its kind only, never its raw text
                reason = type(error).__name__
            return spec, f"; no layers from ECR ({plain(reason, 200)})"
        short = newest.digest.removeprefix("sha256:")[:12]
        where = "downloaded from ECR" if downloaded else "already on this engine"
        return replace(spec, cache_from=(reference,)), f"; cache: ECR image {short} ({where})"

    def _verify(
        self,
        repository: RepositoryInfo,
        tags: tuple[str, ...],
        checkout: Checkout,
        digest: str,
        started: float,
        plan: Plan,
        emit: Emit,
    ) -> PushResult:
        # By digest: ECR's description of what the push sent, tags and size, in one call (by
        # tag, the adapter also reads the image's config for its revision label).
        image = self._registry.image_by_digest(repository, digest)
        if image is None or tags[0] not in image.tags:
            found = self._registry.find_image(repository, tags[0])
            seen = found.digest if found else "nothing"
            raise StepError(
                Step.VERIFY,
                f"ECR reports {seen} for {repository.name}:{tags[0]}, the push sent {digest}",
            )
        emit(ProgressEvent(Step.VERIFY, "finished", f"ECR has {digest}"))
        signing = self._signing(repository, digest, plan, emit)
        return PushResult(
            image_uris=tuple(f"{repository.uri}:{tag}" for tag in tags),
            digest=digest,
            size_bytes=image.size_bytes,
            duration_s=time.monotonic() - started,
            revision=checkout.full_sha,
            pushed=True,
            warnings=tuple(plan.warnings),
            signing=signing,
        )

    def _signing(self, repository: RepositoryInfo, digest: str, plan: Plan, emit: Emit) -> str:
        """Managed signing's outcome: the push has landed either way, so this never fails it;
        a failed signature is a warning (ECR signs as the pusher: signer:SignPayload)."""
        try:
            statuses = self._registry.signing_status(repository, digest)
        except Exception as error:  # an adapter's error: its words if ours, else its kind
            reason = error.raw if isinstance(error, StepError) else type(error).__name__
            text = (
                f"Managed signing: the image's signing status could not be read "
                f"({plain(reason, 300)})"
            )
            plan.warn(text, emit)
            return text
        text = describe_signing(statuses, SIGNING_WAIT_S)
        if statuses and any(s.status == "FAILED" for s in statuses):
            plan.warn(text, emit)
        elif text:
            emit(ProgressEvent(Step.VERIFY, "finished", text))
        return text


def _shown(
    app: AppSpec, step: Step | None, raw: str, tail: tuple[str, ...]
) -> tuple[str, tuple[str, ...]]:
    """What a failure may show in Slack. A build that mounts secrets runs code that can read
    them, and redaction only knows the forms it was told: such a build shows its step names and
    BuildKit's closing error only (the adapter keeps the redacted tail in the job's log)."""
    if not app.build.secrets or step is not Step.BUILD:
        return raw, tail
    closing = raw if raw.startswith(("ERROR:", "error:")) else "the build failed"
    return closing, tuple(line for line in tail if BUILDKIT_STEP.match(line))


def _describe_build(built: BuiltImage, cache_note: str) -> str:
    steps = f": {built.cached} of {built.steps} steps cached" if built.steps else ""
    return f"Built {built.image_id[:19]}{steps}{cache_note}"


def _describe_commit(checkout: Checkout) -> str:
    subject = f": {plain(checkout.subject, 120)}" if checkout.subject else ""
    return f"Checked out {checkout.full_sha[:12]}{subject}"

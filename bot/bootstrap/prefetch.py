"""`ecrbot push`'s adapters, made ready in the background while the checkout runs.

A CLI process starts cold: boto3, docker and the docker CLI's probe cost about 0.4 s before
the first ECR call, and the login and the repository's description are two more round trips.
None of it depends on the checkout, which is git in child processes: each adapter is built on
a daemon thread meanwhile, and the registry asks ECR for the repository and a login there
too. Whatever the background met is raised where the pipeline would have met it, by the call
that needs the answer; a call the background did not foresee goes to the adapter itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from bot.domain.cancel import CancelToken
    from bot.domain.ecr_features import SigningStatus
    from bot.domain.models import LayerProgress
    from bot.domain.ports import (
        BuildSpec,
        BuiltImage,
        Engine,
        PushedImage,
        Registry,
        RegistryCredentials,
        RemoteImage,
        RepositoryInfo,
    )

log = logging.getLogger(__name__)

T = TypeVar("T")


def _settle(future: Future[T], work: Callable[[], T]) -> bool:
    try:
        future.set_result(work())
        return True
    except BaseException as error:  # kept for the caller, raised where it asks
        future.set_exception(error)
        return False


class Background(Generic[T]):
    """A value built on a daemon thread (a CLI that is stopped need not wait for it)."""

    def __init__(self, name: str, build: Callable[[], T]) -> None:
        self._value: Future[T] = Future()
        threading.Thread(target=_settle, args=(self._value, build), name=name, daemon=True).start()

    def get(self) -> T:
        """The value once built; raises what building raised."""
        return self._value.result()


class BackgroundEngine:
    """The Engine port on an engine built (and warmed) in the background."""

    def __init__(self, build: Callable[[], Engine]) -> None:
        self._engine = Background("ecrbot-engine", build)

    def build(
        self, spec: BuildSpec, on_line: Callable[[str], None], cancel: CancelToken
    ) -> BuiltImage:
        return self._engine.get().build(spec, on_line, cancel)

    def fetch_cache(
        self, reference: str, credentials: RegistryCredentials, cancel: CancelToken
    ) -> bool:
        return self._engine.get().fetch_cache(reference, credentials, cancel)

    def tag(self, image_id: str, repository_uri: str, tag: str) -> None:
        self._engine.get().tag(image_id, repository_uri, tag)

    def push(
        self,
        repository_uri: str,
        tag: str,
        credentials: RegistryCredentials,
        on_layers: Callable[[tuple[LayerProgress, ...]], None],
        cancel: CancelToken,
    ) -> PushedImage:
        return self._engine.get().push(repository_uri, tag, credentials, on_layers, cancel)

    def ping(self) -> None:
        self._engine.get().ping()


class PrefetchedRegistry:
    """The Registry port on a registry built in the background, which there also describes
    `repository`, logs in, looks up what each of `tags` names now (pre-flight's questions,
    when the tags are known before the checkout) and finally runs `warm` (a connection to
    the registry's API, made before a push needs it). Each of those answers is given once, to
    the first call that asks that question (or raises what the background met); every other
    call goes to the registry."""

    def __init__(
        self,
        build: Callable[[], Registry],
        repository: str,
        tags: tuple[str, ...] = (),
        warm: Callable[[Registry, RepositoryInfo], None] | None = None,
    ) -> None:
        self._name = repository
        self._registry: Future[Registry] = Future()
        # Each settled by the background; which are still to be given is `_untaken`'s.
        self._answers: dict[tuple[str, ...], Future[Any]] = {
            ("repository",): Future(),
            ("credentials",): Future(),
            **{("find_image", tag): Future() for tag in tags},
        }
        self._untaken = set(self._answers)
        self._guard = threading.Lock()
        threading.Thread(
            target=self._prefetch, args=(build, tags, warm), name="ecrbot-registry", daemon=True
        ).start()

    def _prefetch(
        self,
        build: Callable[[], Registry],
        tags: tuple[str, ...],
        warm: Callable[[Registry, RepositoryInfo], None] | None,
    ) -> None:
        answers = self._answers
        if not _settle(self._registry, build):
            for future in answers.values():
                future.cancel()  # each call asks the registry, and meets what building met
            return
        registry = self._registry.result()
        # In the pipeline's order: a missing repository is the error worth showing first.
        if not _settle(answers[("repository",)], lambda: registry.repository(self._name)):
            for future in answers.values():
                future.cancel()
            return
        info: RepositoryInfo = answers[("repository",)].result()
        _settle(answers[("credentials",)], registry.credentials)
        for tag in tags:
            _settle(answers[("find_image", tag)], partial(registry.find_image, info, tag))
        if warm is not None:
            try:
                warm(registry, info)
            except Exception:  # best effort: the call that needs the registry says what's wrong
                log.debug("warming the registry adapter failed", exc_info=True)

    def _take(self, *question: str) -> Future[Any] | None:
        """The background's answer to `question`, once it is there, to the first call that
        asks; None when the background does not ask it (or stopped before it did)."""
        with self._guard:
            if question not in self._untaken:
                return None
            self._untaken.discard(question)
        answer = self._answers[question]
        try:
            answer.exception()  # waits for it
        except CancelledError:
            return None
        return answer

    def _target(self) -> Registry:
        return self._registry.result()

    def repository(self, name: str) -> RepositoryInfo:
        answer = self._take("repository") if name == self._name else None
        if answer is not None:
            return answer.result()  # type: ignore[no-any-return]
        return self._target().repository(name)

    def credentials(self, fresh: bool = False) -> RegistryCredentials:
        answer = None if fresh else self._take("credentials")
        if answer is not None:
            return answer.result()  # type: ignore[no-any-return]
        return self._target().credentials(fresh=fresh)

    def find_image(
        self, repository: RepositoryInfo, tag: str, known: str | None = None
    ) -> RemoteImage | None:
        answer = self._take("find_image", tag) if repository.name == self._name else None
        if answer is not None:
            return answer.result()  # type: ignore[no-any-return]
        return self._target().find_image(repository, tag, known)

    def image_by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        return self._target().image_by_digest(repository, digest)

    def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
        self._target().add_tag(repository, source, new_tag)

    def signing_status(
        self, repository: RepositoryInfo, digest: str
    ) -> tuple[SigningStatus, ...] | None:
        return self._target().signing_status(repository, digest)

"""`ecrbot push`'s adapters, made ready in the background while the checkout runs.

A CLI process starts cold: boto3, docker and the docker CLI's probe cost about 0.4 s before
the first ECR call, and the login and the repository's description are two more round trips.
None of it depends on the checkout, which is git in child processes: each adapter is built on
a daemon thread meanwhile, and the registry asks ECR for the repository and a login there
too. Whatever the background met is raised where the pipeline would have met it, by the call
that needs the answer; a call the background did not foresee goes to the adapter itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import TYPE_CHECKING, Generic, TypeVar

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
    `repository` and logs in: the pipeline's first `repository(repository)` and `credentials()`
    are answered from that (or raise what it met); every other call goes to the registry."""

    def __init__(self, build: Callable[[], Registry], repository: str) -> None:
        self._name = repository
        self._registry: Future[Registry] = Future()
        self._repository: Future[RepositoryInfo] = Future()
        self._credentials: Future[RegistryCredentials] = Future()
        self._unused = {"repository", "credentials"}  # the prefetched answers not yet given
        self._guard = threading.Lock()
        threading.Thread(
            target=self._prefetch, args=(build,), name="ecrbot-registry", daemon=True
        ).start()

    def _prefetch(self, build: Callable[[], Registry]) -> None:
        if not _settle(self._registry, build):
            self._repository.set_exception(self._registry.exception() or RuntimeError())
            self._credentials.cancel()
            return
        registry = self._registry.result()
        # In the pipeline's order: a missing repository is the error worth showing first.
        if _settle(self._repository, lambda: registry.repository(self._name)):
            _settle(self._credentials, registry.credentials)
        else:
            self._credentials.cancel()

    def _first(self, answer: str) -> bool:
        """True once per prefetched answer: the first call that asks for it takes it."""
        with self._guard:
            unused = answer in self._unused
            self._unused.discard(answer)
            return unused

    def _target(self) -> Registry:
        return self._registry.result()

    def repository(self, name: str) -> RepositoryInfo:
        if name == self._name and self._first("repository"):
            return self._repository.result()
        return self._target().repository(name)

    def credentials(self, fresh: bool = False) -> RegistryCredentials:
        if not fresh and self._first("credentials"):
            try:
                return self._credentials.result()
            except CancelledError:  # never asked: the repository could not be described
                pass
        return self._target().credentials(fresh=fresh)

    def find_image(self, repository: RepositoryInfo, tag: str) -> RemoteImage | None:
        return self._target().find_image(repository, tag)

    def image_by_digest(self, repository: RepositoryInfo, digest: str) -> RemoteImage | None:
        return self._target().image_by_digest(repository, digest)

    def add_tag(self, repository: RepositoryInfo, source: str, new_tag: str) -> None:
        self._target().add_tag(repository, source, new_tag)

    def signing_status(
        self, repository: RepositoryInfo, digest: str
    ) -> tuple[SigningStatus, ...] | None:
        return self._target().signing_status(repository, digest)

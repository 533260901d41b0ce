"""`ecrbot push` readies its adapters while the checkout runs (bootstrap/prefetch.py), and
exits without the interpreter's teardown once its work is done (entrypoints/quick_exit.py)."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import pytest

from bot.bootstrap.prefetch import BackgroundEngine, PrefetchedRegistry
from bot.domain.cancel import CancelToken
from bot.domain.errors import StepError
from bot.domain.models import Step
from bot.domain.ports import BuildSpec, Engine, Registry, RemoteImage, RepositoryInfo
from bot.entrypoints.quick_exit import FLUSH_FAILED, exit_now
from tests.fakes import OTHER_SHA, SHA, FakeEngine, FakeRegistry


def test_the_registry_is_built_and_asked_in_the_background_then_answers_once_from_that() -> None:
    fake = FakeRegistry()
    threads: list[str] = []
    built = threading.Event()

    def build() -> Registry:
        threads.append(threading.current_thread().name)
        built.set()
        return fake

    registry = PrefetchedRegistry(build, "my-app")
    assert built.wait(5)
    repository = registry.repository("my-app")
    credentials = registry.credentials()

    assert threads == ["ecrbot-registry"]
    assert repository.name == "my-app" and credentials.username == "AWS"
    assert fake.calls == ["repository", "credentials"]  # asked once each, in the background
    # Later calls are the registry's own: a fresh login after an expiry, another repository.
    registry.credentials(fresh=True)
    registry.credentials()
    assert fake.calls[2:] == ["credentials-fresh", "credentials"]


def test_what_the_background_met_is_raised_by_the_call_that_needs_the_answer() -> None:
    fake = FakeRegistry()
    registry = PrefetchedRegistry(lambda: fake, "not-there")
    with pytest.raises(StepError, match="RepositoryNotFoundException") as raised:
        registry.repository("not-there")
    assert raised.value.step is Step.AUTHENTICATE
    # No login was asked for a repository that isn't there; one asked for later is made then.
    assert fake.calls == ["repository"]
    assert registry.credentials().username == "AWS"

    def broken() -> Registry:
        raise StepError(Step.AUTHENTICATE, "AWS unreachable: no credentials")

    with pytest.raises(StepError, match="no credentials"):
        PrefetchedRegistry(broken, "my-app").repository("my-app")


def test_a_repository_the_background_did_not_foresee_is_asked_for_then() -> None:
    fake = FakeRegistry()
    fake.repos["other"] = fake.repos["my-app"]
    registry = PrefetchedRegistry(lambda: fake, "my-app")
    assert registry.repository("other").name == "my-app"
    assert fake.calls.count("repository") == 2


def test_pre_flight_lookups_of_known_tags_and_the_warm_up_run_in_the_background() -> None:
    fake = FakeRegistry()
    image = RemoteImage("sha256:old", ("1.4.0",), 9, OTHER_SHA)
    fake.images[("my-app", "1.4.0")] = image
    warmed = threading.Event()
    seen: list[str] = []

    def warm(registry: Registry, info: RepositoryInfo) -> None:
        seen.append(info.name)
        warmed.set()

    registry = PrefetchedRegistry(lambda: fake, "my-app", (SHA, "1.4.0"), warm)
    assert warmed.wait(5) and seen == ["my-app"]
    info = registry.repository("my-app")
    assert fake.calls == ["repository", "credentials", "find_image", "find_image"]
    assert registry.find_image(info, SHA) is None
    assert registry.find_image(info, "1.4.0") == image
    assert len(fake.calls) == 4  # answered from the background
    registry.find_image(info, "1.4.0")  # asked again: now (a tag may have moved since)
    registry.find_image(info, "latest")  # a question the background did not ask
    assert fake.calls[4:] == ["find_image", "find_image"]


def test_a_warm_up_that_fails_changes_nothing() -> None:
    fake = FakeRegistry()

    def warm(registry: Registry, info: RepositoryInfo) -> None:
        raise OSError("registry unreachable")

    registry = PrefetchedRegistry(lambda: fake, "my-app", (SHA,), warm)
    info = registry.repository("my-app")
    assert registry.find_image(info, SHA) is None
    assert registry.credentials().username == "AWS"


def test_the_engine_is_built_in_the_background_and_its_errors_raised_on_use(
    tmp_path: Path,
) -> None:
    fake = FakeEngine()
    engine = BackgroundEngine(lambda: fake)
    engine.tag("sha256:abc", "host/app", "v1")
    engine.ping()
    assert fake.tags == [("host/app", "v1")]

    def broken() -> Engine:
        raise StepError(Step.BUILD, "Docker engine unreachable")

    failing = BackgroundEngine(broken)
    spec = BuildSpec(tmp_path, "Dockerfile", "host/app:t", buildargs={}, labels={})
    with pytest.raises(StepError, match="unreachable"):
        failing.build(spec, lambda line: None, CancelToken())


class Ended(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def end(code: int) -> NoReturn:
    raise Ended(code)


def test_the_exit_runs_the_handlers_then_flushes_then_ends_with_the_code() -> None:
    order: list[str] = []

    class Stream(io.StringIO):
        def flush(self) -> None:
            order.append("flush")

    def handlers() -> None:
        order.append("atexit")

    with pytest.raises(Ended) as ended:
        exit_now(3, streams=lambda: (Stream(),), handlers=handlers, end=end, busy=lambda: False)
    assert ended.value.code == 3
    assert order == ["atexit", "flush"]


def test_a_stream_that_cannot_be_flushed_fails_a_success_like_the_interpreter() -> None:
    class Closed(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError

    def nothing() -> None:
        return None

    def never() -> bool:
        return False

    def exit_with(code: int) -> int:
        with pytest.raises(Ended) as ended:
            exit_now(code, streams=lambda: [Closed()], handlers=nothing, end=end, busy=never)
        return ended.value.code

    assert exit_with(0) == FLUSH_FAILED
    assert exit_with(1) == 1


def test_a_thread_still_at_work_gets_the_interpreters_own_exit() -> None:
    def ran() -> None:
        raise AssertionError("handlers run by the interpreter's exit, not here")

    with pytest.raises(SystemExit) as stopped:
        exit_now(2, handlers=ran, end=end, busy=lambda: True)
    assert stopped.value.code == 2


def test_only_non_daemon_threads_count_as_at_work() -> None:
    from bot.entrypoints.quick_exit import _threads_at_work

    release = threading.Event()
    daemon = threading.Thread(target=release.wait, daemon=True)
    daemon.start()
    try:
        assert not _threads_at_work() or _other_workers()
        worker = threading.Thread(target=release.wait)
        worker.start()
        assert _threads_at_work()
    finally:
        release.set()
        daemon.join(5)


def test_a_pool_shut_down_a_moment_ago_is_not_at_work() -> None:
    # `ecrbot diagnose` closes its pools (threads told to stop, not waited for) and exits at
    # once: its idle threads end within the grace, so the quick exit is taken.
    from bot.entrypoints.quick_exit import _threads_at_work

    pool = ThreadPoolExecutor(4, thread_name_prefix="probe")
    assert list(pool.map(abs, range(-8, 0))) == list(range(8, 0, -1))
    pool.shutdown(wait=False)
    _threads_at_work()
    assert not [t for t in threading.enumerate() if t.name.startswith("probe") and t.is_alive()]


def _other_workers() -> bool:
    """pytest's own plugins may run non-daemon threads; then the first assertion says nothing."""
    here = threading.current_thread()
    return any(t is not here and not t.daemon for t in threading.enumerate())

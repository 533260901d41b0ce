"""Concurrent test runs each get a Redis database of their own (tests/e2e/redis_claim.py):
two runs on one database flushed each other's celery queue and took each other's jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.e2e.harness import service_env
from tests.e2e.redis_claim import _PREFIX, RedisClaim


@pytest.fixture
def base_url() -> str:
    return service_env()["ECRBOT_TEST_REDIS_URL"]


@pytest.fixture
def claims(base_url: str) -> Iterator[list[RedisClaim]]:
    made: list[RedisClaim] = []
    yield made
    for claim in made:
        claim.release()


def test_two_claims_get_two_databases_and_a_release_frees_its_own(
    base_url: str, claims: list[RedisClaim]
) -> None:
    first, second = RedisClaim(base_url), RedisClaim(base_url)
    claims += [first, second]
    url_1, url_2 = first.claim(), second.claim()
    assert url_1 != url_2
    with redis.Redis.from_url(f"{base_url}/0") as held:
        assert held.get(f"{_PREFIX}{first.db}") == first.owner.encode()
        db = first.db
        first.release()
        assert held.get(f"{_PREFIX}{db}") is None
        assert held.get(f"{_PREFIX}{second.db}") == second.owner.encode()  # not another's


def test_the_database_is_flushed_for_its_new_owner(base_url: str, claims: list[RedisClaim]) -> None:
    claim = RedisClaim(base_url)
    claims.append(claim)
    with redis.Redis.from_url(claim.claim()) as broker:
        broker.rpush("ecrbot", "a job")
    db = claim.db
    claim.release()
    assert db is not None
    again = RedisClaim(base_url, databases=range(db, db + 1))
    claims.append(again)
    with redis.Redis.from_url(again.claim()) as broker:
        assert broker.llen("ecrbot") == 0


def test_a_claim_whose_process_is_gone_is_taken_back(
    base_url: str, claims: list[RedisClaim]
) -> None:
    dead = RedisClaim(base_url)
    claims.append(dead)
    dead.claim()
    db = dead.db
    # Its process died without releasing: the next run sees the owner gone and takes it.
    assert db is not None
    only = range(db, db + 1)
    taker = RedisClaim(base_url, alive=lambda owner: owner != dead.owner, databases=only)
    claims.append(taker)
    taker.claim()
    assert taker.db == db
    with redis.Redis.from_url(f"{base_url}/0") as held:
        assert held.get(f"{_PREFIX}{db}") == taker.owner.encode()
    dead.release()  # a late release of the old owner leaves the new claim alone
    with redis.Redis.from_url(f"{base_url}/0") as held:
        assert held.get(f"{_PREFIX}{db}") == taker.owner.encode()


def test_a_live_owners_claim_is_not_taken(base_url: str, claims: list[RedisClaim]) -> None:
    owner = RedisClaim(base_url)
    claims.append(owner)
    owner.claim()
    assert owner.db is not None
    other = RedisClaim(base_url, databases=range(owner.db, owner.db + 1))
    with pytest.raises(RuntimeError, match="no free Redis database"):
        other.claim()
    other.release()


def test_a_database_a_client_is_connected_to_is_skipped_even_unclaimed(
    base_url: str, claims: list[RedisClaim]
) -> None:
    probe = RedisClaim(base_url)
    probe.claim()
    db = probe.db
    probe.release()
    # A celery worker left behind by a killed run: no claim, but still taking jobs.
    stray = redis.Redis.from_url(f"{base_url}/{db}")
    stray.ping()
    try:
        claim = RedisClaim(base_url)
        claims.append(claim)
        claim.claim()
        assert claim.db != db
    finally:
        stray.close()

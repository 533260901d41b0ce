"""Promotion's reads before a copy go through a digest reader (ECR's API), the check after a copy
through the copier: "already there" is read, not copied, not verified again; a tag the target
lacks or holds another digest under is copied and verified (the target read once: the read that
found it lacking is not made again before the copy); a missing repository is said so."""

from __future__ import annotations

import pytest

from bot.domain.access import Access
from bot.domain.cancel import CancelToken
from bot.domain.environments import HOME, Environment, NamedRegistry
from bot.domain.errors import UsageError
from bot.domain.promotion import CopyFailed, ImageRef, RepositoryMissing
from bot.services.promotions import PromotionService
from tests.fakes import app_spec

HOME_REGISTRY = NamedRegistry(HOME, "123456789012", "eu-west-2")
PROD = Environment("prod", NamedRegistry("prod", "210987654321", "eu-west-2", "arn:r"), "my-app")
APP = app_spec(name="my-app", repository="my-app", environments=(PROD,))
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
SOURCE = f"{HOME_REGISTRY.host}/my-app:1.0.0"
TARGET = f"{PROD.registry.host}/my-app:1.0.0"


class NoGroups:
    def members(self, group_id: str) -> frozenset[str]:
        return frozenset()


class Reader:
    """ECR's API as the service sees it: a digest per image, or a missing repository."""

    def __init__(self, images: dict[str, str], missing: tuple[str, ...] = ()) -> None:
        self.images, self.missing = images, missing
        self.reads: list[str] = []

    def digest(self, image: ImageRef) -> str | None:
        self.reads.append(str(image))
        if image.registry.host in self.missing:
            raise RepositoryMissing(
                f"The registry {image.registry.name} ({image.registry.host}) has no "
                f"repository {image.repository}."
            )
        return self.images.get(str(image))


class Copier:
    """skopeo as the service sees it: copies (or refuses) and reads what the registry serves."""

    def __init__(self, reader: Reader, refuse: str | None = None) -> None:
        self.reader, self.refuse = reader, refuse
        self.copies: list[str] = []
        self.tags: list[str] = []  # tags pointed at a manifest the target holds: no copy
        self.reads: list[str] = []

    def digest(self, image: ImageRef) -> str | None:
        self.reads.append(str(image))
        return self.reader.images.get(str(image))

    def copy(self, source: ImageRef, target: ImageRef, cancel: CancelToken | None = None) -> None:
        if self.refuse:
            raise CopyFailed(self.refuse)
        self.copies.append(str(target))
        self.reader.images[str(target)] = source.reference

    def tag(self, image: ImageRef, digest: str) -> None:
        self.tags.append(str(image))
        self.reader.images[str(image)] = digest


def service(reader: Reader, copier: Copier, pushed: tuple[str, ...] = ()) -> PromotionService:
    return PromotionService(
        {"my-app": APP}.get,
        Access((), NoGroups()),
        copier,
        HOME_REGISTRY,
        pushed=lambda app, digest: pushed,
        reader=reader,
    )


def test_already_there_is_two_reads_no_copy_and_nothing_the_copier_reads() -> None:
    reader = Reader({SOURCE: DIGEST, TARGET: DIGEST})
    copier = Copier(reader)
    done = service(reader, copier).promote("my-app", "1.0.0", "prod", user=None)
    assert not done.copied and done.uris == (TARGET,) and done.plan.digest == DIGEST
    assert reader.reads == [SOURCE, TARGET]
    assert copier.copies == [] and copier.reads == []  # no login, no skopeo


def test_a_tag_the_target_lacks_is_copied_then_verified_by_the_copier() -> None:
    reader = Reader({SOURCE: DIGEST})
    copier = Copier(reader)
    done = service(reader, copier).promote("my-app", "1.0.0", "prod", user=None)
    assert done.copied and copier.copies == [TARGET]
    assert reader.reads == [SOURCE, TARGET]  # the target read once: it decided the copy too
    assert copier.reads == [TARGET]  # the check after the copy reads what the registry serves


def test_a_tag_holding_another_digest_is_copied_over() -> None:
    reader = Reader({SOURCE: DIGEST, TARGET: OTHER})
    copier = Copier(reader)
    done = service(reader, copier).promote("my-app", "1.0.0", "prod", user=None)
    assert done.copied and copier.copies == [TARGET]
    assert reader.images[TARGET] == DIGEST


SHA_TAG = "1a2b3c4d5e6f"
TARGET_SHA = f"{PROD.registry.host}/my-app:{SHA_TAG}"


def test_of_two_tags_one_is_copied_and_the_other_pointed_at_it() -> None:
    reader = Reader({SOURCE: DIGEST})
    copier = Copier(reader)
    done = service(reader, copier, pushed=("1.0.0", SHA_TAG)).promote(
        "my-app", "1.0.0", "prod", user=None
    )
    assert done.copied and done.uris == (TARGET, TARGET_SHA)
    assert copier.copies == [TARGET] and copier.tags == [TARGET_SHA]  # one skopeo, one PUT
    assert copier.reads == [TARGET, TARGET_SHA]  # both read back


def test_a_digest_the_target_holds_under_another_tag_is_tagged_not_copied() -> None:
    reader = Reader({SOURCE: DIGEST, TARGET_SHA: DIGEST, TARGET: OTHER})
    copier = Copier(reader)
    done = service(reader, copier, pushed=("1.0.0", SHA_TAG)).promote(
        "my-app", "1.0.0", "prod", user=None
    )
    assert done.copied and copier.copies == [] and copier.tags == [TARGET]
    assert reader.images[TARGET] == DIGEST


def test_a_tag_not_at_the_source_is_refused_without_a_copy() -> None:
    reader = Reader({})
    copier = Copier(reader)
    with pytest.raises(UsageError, match="is not in the home registry"):
        service(reader, copier).promote("my-app", "1.0.0", "prod", user=None)
    assert copier.copies == []


def test_a_missing_source_repository_is_named() -> None:
    reader = Reader({}, missing=(HOME_REGISTRY.host,))
    with pytest.raises(UsageError, match=r"The home registry .* has no repository `my-app`"):
        service(reader, Copier(reader)).promote("my-app", "1.0.0", "prod", user=None)


def test_a_missing_target_repository_is_named_when_the_copy_fails() -> None:
    reader = Reader({SOURCE: DIGEST}, missing=(PROD.registry.host,))
    copier = Copier(reader, refuse="name unknown: The repository with name 'my-app' ...")
    with pytest.raises(RepositoryMissing) as refused:
        service(reader, copier).promote("my-app", "1.0.0", "prod", user=None)
    words = str(refused.value)
    assert f"The registry prod ({PROD.registry.host}) has no repository my-app." in words
    assert "Create it (or a create-on-push template for it)" in words
    assert "The copy said: name unknown" in words
    assert reader.reads == [SOURCE, TARGET]


def test_a_missing_target_repository_made_on_push_is_copied_to() -> None:
    reader = Reader({SOURCE: DIGEST}, missing=(PROD.registry.host,))
    copier = Copier(reader)  # a create-on-push template: the push makes the repository
    done = service(reader, copier).promote("my-app", "1.0.0", "prod", user=None)
    assert done.copied and copier.copies == [TARGET]


def test_without_a_reader_the_copier_reads() -> None:
    reader = Reader({SOURCE: DIGEST, TARGET: DIGEST})
    copier = Copier(reader)
    plain = PromotionService({"my-app": APP}.get, Access((), NoGroups()), copier, HOME_REGISTRY)
    assert not plain.promote("my-app", "1.0.0", "prod", user=None).copied
    assert copier.reads == [SOURCE, TARGET] and reader.reads == []

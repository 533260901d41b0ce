"""The report's Environments section (issue #16): which digests run where, and what waits in
one environment for the next. Each app's path is home, then its environments in the catalog's
order, each read in its own registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise

from bot.domain.report.model import (
    Catalog,
    EnvironmentImages,
    ImageInfo,
    Level,
    RegistrySnapshot,
    Section,
    SectionId,
    plural,
)
from bot.domain.report.sections import _Items

WAITING_SHOWN = 3  # per step of a path: the newest images waiting are enough to act on
STALE = timedelta(days=14)  # waiting longer than this is worth someone's look
HOME = "home"


def environments(snap: RegistrySnapshot, catalog: Catalog, now: datetime) -> Section:
    out = _Items(SectionId.ENVIRONMENTS, catalog)
    by_app: dict[str, list[EnvironmentImages]] = {}
    for env in snap.environments:
        by_app.setdefault(env.app, []).append(env)
    home = {repo.name: repo.images for repo in snap.repositories}
    for app, envs in sorted(by_app.items()):
        repository = catalog.repository_of.get(app, app)
        path = [EnvironmentImages(app, HOME, HOME, repository, home.get(repository, ())), *envs]
        out.add(repository, "runs", Level.INFO, _where(app, path))
        for before, after in pairwise(path):
            there = {image.digest for image in after.images}
            waiting = [i for i in _newest(before.images) if i.digest not in there]
            for image in waiting[:WAITING_SHOWN]:
                age = now - image.pushed_at
                level = Level.LOW if age > STALE else Level.INFO
                text = (
                    f"{app} {_name(image)} ({image.digest[:19]}) has been in {before.environment} "
                    f"for {_age(age)}, not yet in {after.environment}."
                )
                tag = _tag(image)
                fix = f"/ecr promote {app} {tag} {after.environment}" if tag else ""
                out.add(repository, f"{image.digest} -> {after.environment}", level, text, fix)
    found = plural(len(by_app), "app") + " with environments."
    return out.done(found, "No app has environments in the catalog.")


def _where(app: str, path: list[EnvironmentImages]) -> str:
    """`my-app: home 1.5.0 · staging 1.4.0 · prod 1.3.0` (each one's newest image)."""
    steps = []
    for env in path:
        newest = next(iter(_newest(env.images)), None)
        steps.append(f"{env.environment} {_name(newest) if newest else 'nothing'}")
    return f"{app}: " + " · ".join(steps)


def _newest(images: Iterable[ImageInfo]) -> list[ImageInfo]:
    """Tagged, pullable images, newest first (an untagged or archived one is not promoted)."""
    kept = [i for i in images if i.tags and i.status == "ACTIVE"]
    return sorted(kept, key=lambda i: i.pushed_at, reverse=True)


def _tag(image: ImageInfo) -> str | None:
    """The tag a person would promote: a version over a SHA, never `latest`."""
    tags = [t for t in image.tags if t != "latest"]
    versions = [t for t in tags if not _sha_like(t)]
    chosen = versions or tags
    return chosen[0] if chosen else None


def _name(image: ImageInfo) -> str:
    return _tag(image) or image.digest[:19]


def _sha_like(tag: str) -> bool:
    return 7 <= len(tag) <= 40 and all(c in "0123456789abcdef" for c in tag)


def _age(age: timedelta) -> str:
    days = age.days
    return f"{days} days" if days >= 2 else f"{max(1, int(age.total_seconds() // 3600))} hours"

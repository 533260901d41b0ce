"""The health report's read of the catalog's other registries (issue #16): each one's
repositories through its role, all at once on the `registries` pool, each registry's
repositories on the shared `registry_reads` pool (so ECR sees the policy's bound, not one per
registry). A registry that can't be read is its error, never the report's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future

from bot.adapters.aws_hooks import OnAwsError
from bot.config import Settings
from bot.config_catalog import Catalog
from bot.domain.environments import HOME, NamedRegistry
from bot.domain.on_behalf import OnBehalf, current_on_behalf
from bot.domain.report import CatalogEntry, RegistryRead
from bot.runtime.executors import Executors
from bot.services.reports import RegistryReads

log = logging.getLogger(__name__)

ERROR_CHARS = 300  # an STS or ECR message, as the report shows it


def registry_reads(
    settings: Settings, catalog: Catalog, executors: Executors, on_error: OnAwsError | None
) -> RegistryReads:
    """Each registry under `registries:` with the environments (and apps) that live there,
    read for the person who asked (or as ecrbot on the schedule) when the report starts."""
    from bot.adapters.registry_snapshot import RegistryReader
    from bot.bootstrap.sessions import role_sessions

    others = [r for name, r in catalog.named_registries().items() if name != HOME]
    if not others:
        return lambda: lambda: ()
    homes = {entry.app: entry for entry in catalog_entries(catalog)}
    envs: dict[str, list[str]] = {r.name: [] for r in others}
    entries: dict[str, list[CatalogEntry]] = {r.name: [] for r in others}
    for app in catalog.all_apps():
        for env in app.environments:
            if env.registry.name not in envs:
                continue
            if env.name not in envs[env.registry.name]:
                envs[env.registry.name].append(env.name)
            home = homes[app.name]
            entries[env.registry.name].append(
                CatalogEntry(app.name, env.repository, home.owner, home.risk)
            )
    reads = executors.pool("registry_reads")

    def one(registry: NamedRegistry, who: OnBehalf | None) -> RegistryRead:
        where = (registry.name, registry.account_id, registry.region)
        held = (tuple(envs[registry.name]), tuple(entries[registry.name]))
        gaps: list[str] = []
        try:
            reader = RegistryReader(
                registry.region,
                registry.account_id,
                endpoint_url=settings.aws_endpoint_url,
                pool=reads,
                session=role_sessions(settings).session(registry.role, who, registry.region),
                on_error=on_error,
            )
            repositories, scanning = reader.repositories(gaps)
        except Exception as error:  # the role refused (or worse): this registry, not the report
            log.warning("registry %s could not be read: %s", registry.name, type(error).__name__)
            said = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
            return RegistryRead(*where, *held, error=said)
        listing = [g for g in gaps if g.startswith("repositories:")]
        if listing:  # nothing was listed: the registry as a whole could not be read
            return RegistryRead(*where, *held, error=listing[0].partition(":")[2].strip())
        return RegistryRead(*where, *held, repositories, scanning, tuple(gaps))

    def start() -> Callable[[], tuple[RegistryRead, ...]]:
        who = current_on_behalf.get()  # a context variable: read here, on the report's thread
        pool = executors.pool("registries")
        started: list[Future[RegistryRead]] = [pool.submit(one, r, who) for r in others]
        return lambda: tuple(future.result() for future in started)

    return start


def catalog_entries(catalog: Catalog) -> tuple[CatalogEntry, ...]:
    """The catalog as the report reads it: each app's repository, owner and risk tier."""
    entries = []
    for name, config in catalog.apps.items():
        owner = config.owner or (config.pushers[0] if config.pushers else None)
        entries.append(CatalogEntry(name, config.repository or name, owner, config.risk))
    return tuple(entries)

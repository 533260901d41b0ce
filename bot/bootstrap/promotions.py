"""Promotions, built alike for the bot and `ecrbot promote`: skopeo, logged in to each registry
with ECR's own login answer for that account and region."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.config import Catalog, Settings
from bot.domain.access import Access
from bot.domain.environments import HOME
from bot.domain.errors import StepError
from bot.domain.models import RegistrySpec
from bot.domain.ports import Registry
from bot.domain.promotion import CopyFailed, ImageCopier, ImageRef
from bot.services.promotions import PromotionService

Locked = Callable[[str, str | None, str], None]


def ecr_logins(settings: Settings) -> Callable[[ImageRef], tuple[str, str]]:
    """A login per registry (account, region), from `GetAuthorizationToken` with the bot's own
    credentials, cached by each registry adapter until shortly before it expires. Assuming each
    registry's `role:` (with SourceIdentity) is still to come: the target's repository policy
    must let the bot's role in meanwhile."""
    from bot.adapters.aws import EcrRegistry

    registries: dict[tuple[str, str], Registry] = {}
    guard = threading.Lock()

    def login(image: ImageRef) -> tuple[str, str]:
        key = (image.registry.account_id, image.registry.region)
        with guard:
            registry = registries.get(key)
            if registry is None:
                registry = registries[key] = EcrRegistry(
                    RegistrySpec(*key),
                    endpoint_url=settings.aws_endpoint_url,
                    ca_bundle=settings.registry_ca_bundle,
                )
        try:
            creds = registry.credentials()
        except StepError as error:
            raise CopyFailed(f"no ECR login for {image.registry.host}: {error.raw}") from None
        return creds.username, creds.password

    return login


def build_copier(settings: Settings) -> ImageCopier:
    """skopeo with ECR logins (Debian's `skopeo`; see the README's "Why skopeo")."""
    from bot.adapters.skopeo import SkopeoCopier

    return SkopeoCopier(ecr_logins(settings))


def build_promotions(
    settings: Settings,
    catalog: Catalog,
    access: Access,
    locked: Locked,
    copier: ImageCopier | None = None,
) -> PromotionService:
    """The promotion service over the catalog's apps and registries."""
    return PromotionService(
        catalog.app,
        access,
        copier or build_copier(settings),
        catalog.named_registries()[HOME],
        locked=locked,
    )

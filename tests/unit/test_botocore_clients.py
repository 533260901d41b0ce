"""Diagnose's botocore loader knows only its services, and finds them as botocore does."""

from __future__ import annotations

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import create_loader

from bot.adapters import botocore_clients
from bot.adapters.botocore_clients import SERVICES, KnownServices


@pytest.mark.parametrize("kind", ["service-2", "endpoint-rule-set-1", "paginators-1"])
def test_the_services_found_are_botocores_own_for_each_kind_of_file(kind: str) -> None:
    default = create_loader()
    known = KnownServices(SERVICES, list(default.search_paths))
    assert known.list_available_services(kind) == sorted(
        SERVICES & set(default.list_available_services(kind))
    )


def test_sessions_share_one_loader_and_make_clients_of_the_known_services() -> None:
    first, second = botocore_clients.session(), botocore_clients.session()
    assert first is not second  # each its own credentials
    assert first.get_component("data_loader") is second.get_component("data_loader")
    args = {"region_name": "us-east-1", "aws_access_key_id": "a", "aws_secret_access_key": "b"}
    for service in SERVICES:
        assert first.create_client(service, **args).meta.service_model.service_name == service
    with pytest.raises(UnknownServiceError):
        first.create_client("s3", **args)  # a service added to AwsFacts goes into SERVICES

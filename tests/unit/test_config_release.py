"""The catalog's `registries:` and `environments:`: the issue's contract, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_catalog
from bot.domain.environments import Gate
from bot.domain.errors import ConfigError

CONTRACT = """
registry: {account_id: "123456789012", region: eu-west-2}
registries:
  staging:
    {account_id: "111111111111", region: eu-west-2, role: "arn:aws:iam::111111111111:role/promote"}
  prod:
    {account_id: "210987654321", region: eu-west-2, role: "arn:aws:iam::210987654321:role/promote"}
apps:
  my-app:
    source: https://github.com/acme/my-app.git
    environments:
%s
"""
PATH = """\
      - {name: staging, registry: staging}
      - name: prod
        registry: prod
        approvers: [S_RELEASE_LEADS]
        gate: {critical: 0, high_past_sla: 0}
"""


def load(tmp_path: Path, environments: str) -> object:
    path = tmp_path / "ecrbot.yml"
    path.write_text(CONTRACT % environments)
    return load_catalog(path)


def test_the_issues_example_loads_in_order_with_its_rules(tmp_path: Path) -> None:
    catalog = load(tmp_path, PATH)
    app = catalog.app("my-app")  # type: ignore[attr-defined]
    staging, prod = app.environments
    assert [staging.name, prod.name] == ["staging", "prod"]
    assert prod.registry.account_id == "210987654321"
    assert prod.registry.role == "arn:aws:iam::210987654321:role/promote"
    assert prod.registry.host == "210987654321.dkr.ecr.eu-west-2.amazonaws.com"
    assert prod.repository == "my-app"
    assert prod.approvers == ("S_RELEASE_LEADS",)
    assert prod.gate == Gate(critical=0, high_past_sla=0)
    assert staging.approvers == () and staging.gate is None
    assert app.environment("prod") is prod and app.environment("qa") is None


def test_a_catalog_without_the_new_keys_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ecrbot.yml"
    path.write_text(
        'registry: {account_id: "123456789012", region: eu-west-2}\n'
        "apps: {my-app: {source: /src/my-app}}\n"
    )
    catalog = load_catalog(path)
    assert catalog.app("my-app").environments == ()  # type: ignore[union-attr]
    assert list(catalog.named_registries()) == ["home"]


def test_home_names_the_registry_of_today(tmp_path: Path) -> None:
    catalog = load(tmp_path, "      - {name: qa, registry: home, repository: my-app-qa}\n")
    (qa,) = catalog.app("my-app").environments  # type: ignore[attr-defined]
    assert (qa.registry.account_id, qa.registry.role, qa.repository) == (
        "123456789012",
        None,
        "my-app-qa",
    )


@pytest.mark.parametrize(
    ("environments", "expected"),
    [
        (
            "      - {name: prod, registry: prod-eu}\n",
            "apps.my-app.environments.0 (prod): unknown registry `prod-eu` (known: home, prod, "
            "staging)",
        ),
        (
            "      - {name: prod, registry: prod}\n      - {name: prod, registry: staging}\n",
            "apps.my-app.environments.1 (prod): environment `prod` is listed twice in `my-app`",
        ),
        (
            "      - {name: staging, registry: staging}\n      - {name: prod, registry: staging}\n",
            "apps.my-app.environments.1 (prod): promotes to the registry and repository it "
            "comes from (a loop)",
        ),
        ("      - {name: qa, registry: home}\n", "environments.0 (qa): promotes to the registry"),
        ("      - {name: prod, registry: prod, gate: {critical: -1}}\n", "critical"),
        ("      - {name: prod, registry: prod, region: x}\n", "region"),
    ],
)
def test_refusals_name_the_app_and_the_environment(
    tmp_path: Path, environments: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, environments)
    assert expected in str(refused.value)


def test_home_can_not_be_redefined(tmp_path: Path) -> None:
    path = tmp_path / "ecrbot.yml"
    path.write_text(
        'registry: {account_id: "123456789012", region: eu-west-2}\n'
        'registries: {home: {account_id: "111111111111", region: eu-west-2, '
        'role: "arn:aws:iam::111111111111:role/r"}}\n'
    )
    with pytest.raises(ConfigError, match=r"registries\.home"):
        load_catalog(path)


def test_a_registry_needs_a_role(tmp_path: Path) -> None:
    path = tmp_path / "ecrbot.yml"
    path.write_text(
        'registry: {account_id: "123456789012", region: eu-west-2}\n'
        'registries: {prod: {account_id: "111111111111", region: eu-west-2}}\n'
    )
    with pytest.raises(ConfigError, match=r"registries\.prod\.role"):
        load_catalog(path)

"""Tag mutability per tag, with AWS's wildcard semantics (not moto's regular expressions).

Rows come from the vendor's own examples (read 2026-12-06):
- ECR user guide, "Filters to choose which repositories are scanned" (image-scanning-filters.html):
  the table of `prod`, `*prod`, `prod*`, `*prod*`, `prod*repo` against five names, for the rows
  that use a wildcard (the one place ECR spells `*` out: "zero or more characters").
- ECR "What's New" 2025-07 (exceptions to tag immutability): `latest` stays mutable in an
  immutable repository.
- AWS CDK's ImageTagMutabilityExclusionFilter example: `dev-*`, `test-*` are "tags starting
  with dev- or test-".
"""

from __future__ import annotations

import re

import pytest

from bot.domain.tag_mutability import TagMutability, could_match_hex, wildcard_matches

NAMES = ("prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo")
# image-scanning-filters.html, the wildcard rows: Yes/No per name, in NAMES' order.
GUIDE_TABLE = {
    "*prod": (True, True, False, False, False),
    "prod*": (True, False, True, False, True),
    "*prod*": (True, True, True, True, True),
    "prod*repo": (False, False, True, False, True),
}


@pytest.mark.parametrize("pattern", sorted(GUIDE_TABLE))
def test_the_user_guides_wildcard_table(pattern: str) -> None:
    got = tuple(wildcard_matches(pattern, name) for name in NAMES)
    assert got == GUIDE_TABLE[pattern]


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("latest", "latest", True),
        ("latest", "latest-1", False),  # no wildcard: the tag itself, never "contains"
        ("latest", "not-latest", False),
        ("dev-*", "dev-", True),
        ("dev-*", "dev-feature.x", True),
        ("dev-*", "dev", False),
        ("dev-*", "devel", False),  # moto's re.match("dev-*") says yes: `-*` is "any dashes"
        ("test-*", "contest-1", False),  # anchored at the start
        ("v1.*", "v1.2.3", True),
        ("v1.*", "v1x2", False),  # `.` is literal (a regex would take any character)
        ("*", "anything", True),
        ("**", "a", True),
        ("*-rc*", "1.0-rc2", True),
        ("a*a", "a", False),  # the pieces must not overlap
        ("a*a", "aa", True),
        ("Latest", "latest", False),  # tags are case-sensitive
    ],
)
def test_wildcard_cases(pattern: str, tag: str, matches: bool) -> None:
    assert wildcard_matches(pattern, tag) is matches


def test_moto_would_disagree_on_these() -> None:
    # Why the matching is tested here and never through moto: it reads filters as regexes.
    assert re.match("dev-*", "devel") and not wildcard_matches("dev-*", "devel")
    assert re.match("v1.*", "v1x2") and not wildcard_matches("v1.*", "v1x2")


def test_immutable_with_exclusion_leaves_latest_mutable() -> None:
    mutability = TagMutability.from_ecr(
        "IMMUTABLE_WITH_EXCLUSION",
        [
            {"filterType": "WILDCARD", "filter": "latest"},
            {"filterType": "WILDCARD", "filter": "dev-*"},
        ],
    )
    assert not mutability.immutable("latest")
    assert not mutability.immutable("dev-42")
    assert mutability.immutable("1.4.0")
    assert mutability.immutable("0123abc")
    assert "exclusion filter `latest`" in mutability.why("latest")


def test_mutable_with_exclusion_protects_release_tags() -> None:
    mutability = TagMutability.from_ecr(
        "MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "v*"}]
    )
    assert mutability.immutable("v1.2.0")
    assert not mutability.immutable("latest")
    assert mutability.describe() == "MUTABLE_WITH_EXCLUSION (v*)"


def test_plain_settings_ignore_stray_filters() -> None:
    assert TagMutability.from_ecr("IMMUTABLE", [{"filter": "latest"}]).immutable("latest")
    assert not TagMutability.from_ecr("MUTABLE", [{"filter": "v*"}]).immutable("v1")
    assert TagMutability.from_ecr(None, None).setting == "MUTABLE"
    assert TagMutability.from_ecr("SOMETHING_NEW", None).setting == "MUTABLE"


def test_at_most_five_filters_are_read() -> None:
    filters = [{"filterType": "WILDCARD", "filter": f"t{i}"} for i in range(9)]
    assert len(TagMutability.from_ecr("IMMUTABLE_WITH_EXCLUSION", filters).exclusions) == 5


@pytest.mark.parametrize(
    ("setting", "filters", "sha_tags"),
    [
        ("IMMUTABLE", [], "all"),
        ("MUTABLE", [], "no"),
        ("IMMUTABLE_WITH_EXCLUSION", ["latest"], "all"),  # `latest` can't be a SHA
        ("IMMUTABLE_WITH_EXCLUSION", ["*"], "no"),
        ("IMMUTABLE_WITH_EXCLUSION", ["a*"], "some"),
        ("MUTABLE_WITH_EXCLUSION", ["v*"], "no"),
        ("MUTABLE_WITH_EXCLUSION", ["*"], "all"),
    ],
)
def test_which_sha_tags_are_immutable(setting: str, filters: list[str], sha_tags: str) -> None:
    mutability = TagMutability.from_ecr(setting, [{"filter": f} for f in filters])
    assert mutability.sha_tags(40) == sha_tags


def test_could_match_hex() -> None:
    assert could_match_hex("abc*", 7)
    assert not could_match_hex("abc", 7)  # no wildcard: exactly the literal's length
    assert not could_match_hex("v*", 40)
    assert not could_match_hex("a" * 8 + "*", 7)

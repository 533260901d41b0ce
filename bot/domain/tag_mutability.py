"""Whether ECR lets a push move one tag: repository tag mutability, decided per tag.

Sources (read 2026-12-06):
- ECR user guide, "Preventing image tags from being overwritten"
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html : the
  settings MUTABLE, IMMUTABLE, and since 2025-07 IMMUTABLE_WITH_EXCLUSION and
  MUTABLE_WITH_EXCLUSION; exclusions are "tag names or ... wildcards (*) to match multiple
  similar tags". A tag that is immutable and exists already is refused with
  ImageTagAlreadyExistsException.
- ECR API reference, ImageTagMutabilityExclusionFilter and PutImageTagMutability (API_*.html
  under https://docs.aws.amazon.com/AmazonECR/latest/APIReference/):
  filterType WILDCARD, filter `^[0-9a-zA-Z._*-]{1,128}$`, 1 to 5 filters.
- ECR user guide, "Filters to choose which repositories are scanned", the one ECR page that
  spells its wildcard out: `*` "replaces zero or more characters"; `prod*` matches `prod` and
  `prodrepo`, not `repo-prod`.

Where the documents are silent ecrbot chooses the reading that never promises a push ECR
would refuse: a filter matches the whole tag (the CDK's `dev-*` is "tags starting with dev-"),
`*` is the only wildcard (`.` and `-` are literal, unlike moto, which matches filters as
regular expressions), matching is case-sensitive (tags are), and a filter without `*` names
exactly one tag (`latest`), not every tag containing it as the scanning filters do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.domain.text import code

SETTINGS = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
MAX_FILTERS = 5  # PutImageTagMutability: "Maximum number of 5 items"


def wildcard_matches(pattern: str, tag: str) -> bool:
    """True when `pattern` (ECR's WILDCARD filter: `*` is zero or more characters) is `tag`."""
    return _match(tuple(pattern.split("*")), tag)


@lru_cache(maxsize=256)
def _match(parts: tuple[str, ...], tag: str) -> bool:
    # Literal pieces between the stars, matched greedily left to right: linear in the tag,
    # never a regular expression (a filter is outside text; no backtracking blow-up).
    if len(parts) == 1:
        return parts[0] == tag
    first, *middle, last = parts
    if not tag.startswith(first) or not tag[len(first) :].endswith(last):
        return False
    if len(first) + len(last) > len(tag):
        return False
    position, end = len(first), len(tag) - len(last)
    for piece in middle:
        found = tag.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def could_match_hex(pattern: str, length: int) -> bool:
    """Whether some lowercase hex string of `length` characters (a SHA tag) matches `pattern`."""
    literal = pattern.replace("*", "")
    if any(c not in "0123456789abcdef" for c in literal):
        return False
    return len(literal) <= length if "*" in pattern else len(literal) == length


@dataclass(frozen=True)
class TagMutability:
    """A repository's setting and its exclusion filters (ECR's own words)."""

    setting: str = "MUTABLE"
    exclusions: tuple[str, ...] = ()

    @classmethod
    def from_ecr(cls, setting: object, filters: object) -> TagMutability:
        """From DescribeRepositories' `imageTagMutability` and `...ExclusionFilters`."""
        value = str(setting or "MUTABLE")
        patterns = tuple(
            str(f.get("filter", ""))
            for f in (filters if isinstance(filters, list) else [])[:MAX_FILTERS]
            if isinstance(f, dict) and f.get("filterType", "WILDCARD") == "WILDCARD"
        )
        return cls(value if value in SETTINGS else "MUTABLE", tuple(p for p in patterns if p))

    @classmethod
    def of(cls, immutable: bool, exclusions: tuple[str, ...] = ()) -> TagMutability:
        """From a base (immutable or not) and the filters that invert it."""
        setting = "IMMUTABLE" if immutable else "MUTABLE"
        return cls(setting + ("_WITH_EXCLUSION" if exclusions else ""), exclusions)

    @property
    def base_immutable(self) -> bool:
        """What a tag no filter matches is: IMMUTABLE and IMMUTABLE_WITH_EXCLUSION."""
        return self.setting.startswith("IMMUTABLE")

    def excluded(self, tag: str) -> str | None:
        """The exclusion filter that matches `tag`, if the setting has any."""
        if not self.setting.endswith("_WITH_EXCLUSION"):
            return None
        return next((p for p in self.exclusions if wildcard_matches(p, tag)), None)

    def immutable(self, tag: str) -> bool:
        """Whether ECR refuses to move `tag` once it exists."""
        return self.base_immutable != (self.excluded(tag) is not None)

    def why(self, tag: str) -> str:
        """Why `tag` is (im)mutable, in a few words for a message (the filter as a code span)."""
        pattern = self.excluded(tag)
        state = "immutable" if self.immutable(tag) else "mutable"
        if pattern is None:
            return f"{state} ({self.setting})"
        return f"{state}: it matches the exclusion filter {code(pattern)} of {self.setting}"

    def describe(self) -> str:
        """The setting in words: `IMMUTABLE_WITH_EXCLUSION (latest, dev-*)`."""
        if self.setting.endswith("_WITH_EXCLUSION") and self.exclusions:
            return f"{self.setting} ({', '.join(self.exclusions)})"
        return self.setting

    def sha_tags(self, length: int) -> str:
        """'all', 'some' or 'no': how many SHA tags of `length` hex characters are immutable."""
        hits = [p for p in self.exclusions if could_match_hex(p, length)]
        if not self.setting.endswith("_WITH_EXCLUSION") or not hits:
            return "all" if self.base_immutable else "no"
        every = any(set(p) == {"*"} for p in hits)  # only a pattern of stars matches every SHA
        if self.base_immutable:
            return "no" if every else "some"
        return "all" if every else "some"

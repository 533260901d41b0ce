"""IAM policy wildcards and Condition blocks, evaluated the way IAM does, and explained."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

Conditions = Mapping[str, Mapping[str, Sequence[str]]]
Context = Mapping[str, str | Sequence[str]]
Entry = tuple[str, str, tuple[str, ...]]  # operator, key, values


class PolicyError(ValueError):
    """A policy document that cannot be read, or a condition operator we cannot evaluate."""


# `${*}`, `${?}` and `${$}` are IAM's escapes for a literal star, question mark and dollar.
_GLOB_TOKEN = re.compile(r"\$\{[*?$]\}|[*?]|[^*?$]+|\$")


@lru_cache(maxsize=2048)
def _segments(pattern: str, ignore_case: bool) -> tuple[tuple[re.Pattern[str], int], ...]:
    """The pattern split at its `*`s: each piece as a regex without repeats, and its length."""
    pieces: list[list[str]] = [[]]
    for piece in _GLOB_TOKEN.findall(pattern):
        if piece == "*":
            pieces.append([])
        elif piece == "?":
            pieces[-1].append(".")
        elif piece.startswith("${"):
            pieces[-1].append(re.escape(piece[2]))
        else:
            pieces[-1].extend(re.escape(char) for char in piece)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return tuple((re.compile("".join(parts), flags), len(parts)) for parts in pieces)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """True if `value` matches an IAM pattern (`*` any run, even empty; `?` one character)."""
    # Not one regex with `.*` per star: Python's `re` backtracks, and "*"*10 + "X" would take
    # minutes against a subject. Between stars every piece has a fixed length, so placing each
    # piece at its earliest position after the previous one is enough (linear, no backtracking).
    (head, head_len), *rest = _segments(pattern, ignore_case)
    if not rest:
        return head.fullmatch(value) is not None
    if head.match(value) is None:
        return False
    position = head_len
    *middle, (tail, tail_len) = rest
    for piece, length in middle:
        found = piece.search(value, position)
        if found is None:
            return False
        position = found.start() + length
    start = len(value) - tail_len
    return start >= position and tail.fullmatch(value, start) is not None


def has_wildcard(pattern: str) -> bool:
    """True if the pattern holds a `*` or `?` that IAM would treat as a wildcard."""
    return any(piece in ("*", "?") for piece in _GLOB_TOKEN.findall(pattern))


def _arn_like(pattern: str, value: str) -> bool:
    # ArnLike checks each of the six colon-separated parts on its own: `*` never crosses a colon
    # before the resource part.
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(got) and all(map(wildcard_match, wanted, got))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    # Dates compare as POSIX seconds; IAM accepts ISO 8601 or epoch seconds.
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _number(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


_TESTS: dict[str, Callable[[float, float], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _ordered(parse: Callable[[str], float | None], test: str) -> Callable[[str, str], bool]:
    def compare(policy: str, request: str) -> bool:
        left, right = parse(request), parse(policy)
        return left is not None and right is not None and _TESTS[test](left, right)

    return compare


def _in_network(policy: str, request: str) -> bool:
    try:
        return ipaddress.ip_address(request) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


# Each base operator: how one policy value is compared with one request value, and whether the
# operator is negated (a negated operator holds when the value matches *none* of the values).
_MATCHERS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.casefold() == v.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.casefold() == v.casefold(), True),
    "StringLike": (wildcard_match, False),
    "StringNotLike": (wildcard_match, True),
    # IAM documents ArnEquals and ArnLike as the same test.
    "ArnEquals": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnLike": (_arn_like, False),
    "ArnNotLike": (_arn_like, True),
    "IpAddress": (_in_network, False),
    "NotIpAddress": (_in_network, True),
    "Bool": (lambda p, v: p.lower() == v.lower(), False),
    "BinaryEquals": (lambda p, v: p == v, False),
}
for _family, _parse in (("Numeric", _number), ("Date", _date)):
    for _suffix, _test, _negated in (
        ("Equals", "eq", False),
        ("NotEquals", "eq", True),
        ("LessThan", "lt", False),
        ("LessThanEquals", "le", False),
        ("GreaterThan", "gt", False),
        ("GreaterThanEquals", "ge", False),
    ):
        _MATCHERS[_family + _suffix] = (_ordered(_parse, _test), _negated)
_CANONICAL = {name.lower(): name for name in [*_MATCHERS, "Null"]}
_SET_PREFIXES = {"foranyvalue": "ForAnyValue", "forallvalues": "ForAllValues"}


def parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """Split an operator into (set prefix or None, base operator, IfExists?)."""
    prefix: str | None = None
    name = operator.strip()
    if ":" in name:
        head, name = name.split(":", 1)
        prefix = _SET_PREFIXES.get(head.lower())
        if prefix is None:
            raise PolicyError(f"unknown condition set operator '{head}' in '{operator}'")
    if_exists = name.lower().endswith("ifexists")
    if if_exists:
        name = name[: -len("IfExists")]
    base = _CANONICAL.get(name.lower())
    if base is None or (base == "Null" and (if_exists or prefix)):
        raise PolicyError(f"unsupported condition operator '{operator}'")
    return prefix, base, if_exists


def context_values(context: Context, key: str) -> tuple[str, ...] | None:
    """The request's values for a condition key (keys are case-insensitive), or None if absent."""
    wanted = key.lower()
    for name, value in context.items():
        if name.lower() == wanted:
            return (value,) if isinstance(value, str) else tuple(value)
    return None


def condition_holds(operator: str, key: str, values: Sequence[str], context: Context) -> bool:
    """Whether one operator/key/values entry of a Condition block holds for the request."""
    prefix, base, if_exists = parse_operator(operator)
    present = context_values(context, key)
    values = (values,) if isinstance(values, str) else values  # a lone string is one value
    if base == "Null":
        # Null "true" asks for the key to be absent, "false" for it to be present.
        return any((value.lower() == "true") == (not present) for value in values)
    fn, negated = _MATCHERS[base]
    if not present:
        if if_exists or prefix == "ForAllValues":
            return True  # nothing to check: IfExists and ForAllValues over no values are true
        if prefix == "ForAnyValue":
            return False
        return negated  # a missing key never matches, so a negated operator holds

    def satisfied(value: str) -> bool:
        matched = any(fn(wanted, value) for wanted in values)
        return not matched if negated else matched

    if prefix == "ForAllValues" or (prefix is None and negated):
        return all(satisfied(value) for value in present)
    return any(satisfied(value) for value in present)


def conditions_match(conditions: Conditions, context: Context) -> bool:
    """True if every operator and key of a Condition block holds for the request context."""
    return all(
        condition_holds(operator, key, values, context)
        for operator, entries in conditions.items()
        for key, values in entries.items()
    )


def failing_conditions(conditions: Conditions, context: Context) -> list[Entry]:
    """The (operator, key, values) entries of a Condition block that do not hold."""
    return [
        (operator, key, tuple(values))
        for operator, entries in conditions.items()
        for key, values in entries.items()
        if not condition_holds(operator, key, values, context)
    ]


def required_values(conditions: Conditions, key: str) -> list[tuple[bool, str]]:
    """(is StringLike?, value) for each value a positive string operator requires of `key`."""
    found: list[tuple[bool, str]] = []
    for operator, entries in conditions.items():
        _, base, _ = parse_operator(operator)
        if base in ("StringEquals", "StringEqualsIgnoreCase", "StringLike"):
            for name, values in entries.items():
                if name.lower() == key.lower():
                    found.extend((base == "StringLike", value) for value in values)
    return found


def subject_breadth(pattern: str) -> tuple[Literal["warn", "fail"], str] | None:
    """How dangerously broad a StringLike `sub` pattern is: a whole org warns, any owner fails."""
    body = pattern.removeprefix("repo:")
    if body == pattern and not has_wildcard(pattern[:1]):
        return None  # not a GitHub subject pattern: nothing to judge
    owner_part, _, rest = body.partition("/")
    owner = owner_part.split("@")[0]
    if body == pattern or has_wildcard(owner):
        # Anyone can create an account whose name fits a wildcard: this trusts strangers.
        return "fail", f"The sub pattern '{pattern}' matches repositories of any owner on GitHub."
    repo = re.split(r"[:@]", rest, maxsplit=1)[0]
    if has_wildcard(repo):
        which = "" if repo == "*" else f" whose name fits '{repo}'"
        return "warn", (
            f"The sub pattern '{pattern}' matches every repository of '{owner}'{which}: "
            f"name the repository."
        )
    return None


# --- Why a GitHub subject does not match: the sentences behind `/ecr diagnose` near misses ---

IMMUTABLE_SINCE = "2026-07-15"
_IDS = re.compile(r"^repo:([^/:@]+)@[^/:]*/([^/:@]+)@[^/:]*")
_KINDS = (
    ("ref:refs/heads/", "branch", "a branch ref"),
    ("ref:refs/tags/", "tag", "a tag ref"),
    ("environment:", "environment", "an environment subject"),
    ("pull_request", "pull_request", "a pull_request subject"),
    ("ref:", "ref", "a git ref"),
)


def _without_ids(subject: str) -> str:
    return _IDS.sub(r"repo:\1/\2", subject)


def _has_ids(subject: str) -> bool:
    return _IDS.match(subject) is not None


def _split(subject: str) -> tuple[str | None, str | None]:
    """`repo:ORG/REPO:CONTEXT` -> ("ORG/REPO", "CONTEXT"); context None when absent."""
    if not subject.startswith("repo:"):
        return None, None
    repo, colon, context = subject[len("repo:") :].partition(":")
    return repo, (context if colon else None)


def _kind(context: str) -> tuple[str, str]:
    if context.startswith(("*", "?")):
        return "any", "any subject"
    for prefix, kind, words in _KINDS:
        if context.startswith(prefix):
            return kind, words
    return "other", f"a '{context.split(':')[0]}' subject"


def explain_subject(base: str, pattern: str, subject: str) -> list[str]:
    """Why `subject` fails one pattern of a positive string operator, most telling reason first."""
    reasons: list[str] = []
    if base in ("StringEquals", "StringEqualsIgnoreCase") and has_wildcard(pattern):
        reasons.append(
            f"uses a wildcard under {base}, which IAM compares literally: use StringLike "
            f"for '{pattern}'"
        )
        if wildcard_match(pattern, subject, ignore_case=base.endswith("IgnoreCase")):
            return reasons
    # From here on the pattern is read as its author meant it: as a StringLike pattern.
    if wildcard_match(pattern, subject, ignore_case=True):
        return [
            *reasons,
            f"matches only if case is ignored: pattern '{pattern}' vs subject '{subject}'",
        ]
    if _has_ids(subject) != _has_ids(pattern) and wildcard_match(
        _without_ids(pattern), _without_ids(subject)
    ):
        if _has_ids(subject):
            return [
                *reasons,
                f"uses the name-only pattern '{pattern}' but the subject is GitHub's immutable "
                f"form repo:OWNER@ID/REPO@ID:... (repositories created after {IMMUTABLE_SINCE}, "
                f"or renamed, transferred or opted in since): trust '{subject}'",
            ]
        return [
            *reasons,
            f"expects GitHub's immutable form repo:OWNER@ID/REPO@ID:... but the job presents the "
            f"name-only subject '{subject}' (the repository has not moved to immutable subjects)",
        ]
    if (
        _has_ids(subject)
        and _has_ids(pattern)
        and wildcard_match(_without_ids(pattern), _without_ids(subject))
    ):
        return [
            *reasons,
            f"names the same owner and repository with other IDs: pattern '{pattern}' vs "
            f"subject '{subject}' (was the repository or owner recreated, or its name reused?)",
        ]
    return [
        *reasons,
        _explain_structure(_without_ids(pattern), _without_ids(subject), pattern, subject),
    ]


def _explain_structure(pattern: str, subject: str, shown_pattern: str, shown_subject: str) -> str:
    p_repo, p_context = _split(pattern)
    s_repo, s_context = _split(subject)
    if not p_repo or not s_repo or s_context is None:
        return f"does not match subject '{shown_subject}': pattern '{shown_pattern}'"
    # A pattern like "repo:org/*" has no context part: its wildcard spans the rest of the subject.
    spans = p_context is None and has_wildcard(p_repo)
    if not wildcard_match(p_repo, f"{s_repo}:{s_context}" if spans else s_repo):
        return f"allows a different repository: '{p_repo}', not '{s_repo}' ({shown_subject})"
    if p_context is None:
        return (
            f"names the repository but no ref, environment or pull_request part, which GitHub's "
            f"subject always has ('{shown_subject}'): use StringLike 'repo:{p_repo}:*' or the "
            f"exact subject"
        )
    (p_kind, p_words), (s_kind, s_words) = _kind(p_context), _kind(s_context)
    if p_kind in ("branch", "tag", "ref") and s_kind == "environment":
        return (
            f"expects {p_words} but the job presents an environment subject ({shown_subject}): "
            f"a job that names an environment gets repo:ORG/REPO:environment:NAME, not its ref"
        )
    if p_kind == "environment" and s_kind != "environment":
        return (
            f"expects an environment subject but the job presents {s_words} ({shown_subject}): "
            f"give the job `environment: {p_context.partition(':')[2]}` or trust its subject"
        )
    if p_kind not in (s_kind, "any") and not (p_kind == "ref" and s_kind in ("branch", "tag")):
        return f"expects {p_words} but the job presents {s_words} ({shown_subject})"
    what = {"branch": "branch", "tag": "tag", "environment": "environment"}.get(s_kind, "subject")
    return f"allows a different {what}: pattern '{shown_pattern}' vs subject '{shown_subject}'"


def explain_entry(
    entry: Entry, context: Context, *, subject_key: str, audience_key: str
) -> list[str]:
    """Human reasons why one failing (operator, key, values) entry does not hold."""
    operator, key, values = entry
    _, base, _ = parse_operator(operator)
    present = context_values(context, key)
    shown = ", ".join(f"'{value}'" for value in values)
    if base == "Null":
        state = "absent" if any(v.lower() == "true" for v in values) else "present"
        return [f"requires {key} to be {state} (Null)"]
    if not present:
        return [
            f"requires {key}, which this request does not carry (IAM only sees the token claims "
            f"it supports as condition keys)"
        ]
    negated = _MATCHERS[base][1]
    if negated:
        return [f"excludes {key} '{present[0]}' with {operator} {shown}"]
    if key.lower() == audience_key.lower():
        hint = ""
        if any(value.startswith("https://") for value in values):
            hint = (
                " (GitHub's old docs used the owner's URL; aws-actions/configure-aws-credentials "
                "requests 'sts.amazonaws.com')"
            )
        return [f"audience '{present[0]}' not allowed: the statement expects {shown}{hint}"]
    if key.lower() == subject_key.lower() and base in (
        "StringEquals",
        "StringEqualsIgnoreCase",
        "StringLike",
    ):
        reasons: list[str] = []
        for pattern in values:
            for reason in explain_subject(base, pattern, present[0]):
                if reason not in reasons:
                    reasons.append(reason)
        return reasons
    return [f"requires {key} {operator} {shown} but the request has '{present[0]}'"]

"""IAM policy wildcards and Condition blocks, evaluated the way IAM does.

Why a GitHub subject fails a condition, in words, is in `near_misses.py`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Literal

from bot.domain.iam.variables import literal, lookup, referenced_keys, substitute

Conditions = Mapping[str, Mapping[str, Sequence[str]]]
Context = Mapping[str, str | Sequence[str]]
Entry = tuple[str, str, tuple[str, ...]]  # operator, key, values


class PolicyError(ValueError):
    """A policy document IAM would refuse as written (MalformedPolicyDocument): bad JSON, an
    unknown condition operator or key, a statement without Effect or Action..."""


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
    # Dates compare as POSIX seconds; IAM accepts ISO 8601 or epoch seconds (Python 3.11's
    # fromisoformat reads a trailing "Z" as UTC).
    try:
        moment = datetime.fromisoformat(text)
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


def _ordered(parse: Callable[[str], float | None], test: str, policy: str, request: str) -> bool:
    # Bound to its parser and test with `partial` below rather than built as a closure, so
    # the comparison is a function of its own that runs per request (and mutation testing
    # reaches it: a closure factory runs once, at import).
    left, right = parse(request), parse(policy)
    return left is not None and right is not None and _TESTS[test](left, right)


def _in_network(policy: str, request: str) -> bool:
    try:
        # strict=False: a policy may write 10.0.0.1/8 for 10.0.0.0/8, as IAM accepts.
        network = ipaddress.ip_network(policy, strict=False)  # pragma: no mutate (None is as False)
        return ipaddress.ip_address(request) in network
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
        _MATCHERS[_family + _suffix] = (partial(_ordered, _parse, _test), _negated)
_CANONICAL = {name.lower(): name for name in [*_MATCHERS, "Null"]}
_SET_PREFIXES = {"foranyvalue": "ForAnyValue", "forallvalues": "ForAllValues"}


def parse_operator(operator: str) -> tuple[str | None, str, bool]:
    """Split an operator into (set prefix or None, base operator, IfExists?).

    An operator IAM does not know makes the whole document invalid: IAM refuses to save it
    ("MalformedPolicyDocument: Invalid Condition type"), so PolicyError says so.
    """
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
    if base is None or (base == "Null" and if_exists):
        joined = next(
            (p for p in _SET_PREFIXES.values() if operator.lower().startswith(p.lower())), None
        )
        hint = (
            f" (a set operator is joined to its operator by a colon: "
            f"{joined}:{operator[len(joined) :]})"
            if joined and ":" not in operator
            else " (IfExists can follow any operator except Null)"
            if base == "Null"
            else ""
        )
        raise PolicyError(f"unknown condition operator '{operator}'{hint}")
    return prefix, base, if_exists


def is_negated(base: str) -> bool:
    """Whether a base operator holds when the value matches none of the policy's values."""
    return base != "Null" and _MATCHERS[base][1]


def context_values(context: Context, key: str) -> tuple[str, ...] | None:
    """The request's values for a condition key (keys are case-insensitive), or None if absent.

    An empty tuple is a key known to be absent; to `condition_holds` both mean absent.
    """
    return lookup(context, key)


# Operators whose values may hold policy variables, and those whose values are patterns.
_VARIABLE_OPERATORS = frozenset(name for name in _MATCHERS if name.startswith(("String", "Arn")))
_PATTERN_OPERATORS = frozenset(
    name for name in _VARIABLE_OPERATORS if "Like" in name or name.startswith("Arn")
)


def resolve_values(
    base: str, values: Sequence[str], context: Context, variables: bool
) -> tuple[str, ...] | None:
    """The policy's values with their variables substituted; None if one cannot be resolved."""
    if base not in _VARIABLE_OPERATORS:
        return tuple(values)
    pattern = base in _PATTERN_OPERATORS
    if not variables:
        return tuple(literal(value) if pattern else value for value in values)
    resolved = [substitute(value, context, pattern=pattern) for value in values]
    if any(value is None for value in resolved):
        return None
    return tuple(value for value in resolved if value is not None)


def condition_holds(
    operator: str,
    key: str,
    values: Sequence[str],
    context: Context,
    *,
    variables: bool = True,
) -> bool:
    """Whether one operator/key/values entry of a Condition block holds for the request.

    `variables`: the policy's Version is 2012-10-17, so `${...}` in values are substituted.
    """
    prefix, base, if_exists = parse_operator(operator)
    present = context_values(context, key)
    values = (values,) if isinstance(values, str) else values  # a lone string is one value
    if base == "Null":
        return _null_holds(prefix, values, present)
    resolved = resolve_values(base, values, context, variables)
    if resolved is None:
        return False  # AWS: a variable it cannot resolve makes the statement invalid
    fn, negated = _MATCHERS[base]
    if not present:
        if if_exists or prefix == "ForAllValues":
            return True  # nothing to check: IfExists and ForAllValues over no values are true
        if prefix == "ForAnyValue":
            return False
        return negated  # a missing key never matches, so a negated operator holds

    def satisfied(value: str) -> bool:
        matched = any(fn(wanted, value) for wanted in resolved)
        return not matched if negated else matched

    # A plain operator over a key with several values: AWS says a multivalued key "requires a
    # condition set operator" and documents no result without one ("Single-valued vs.
    # multivalued context keys", reference_policies_condition-single-vs-multi-valued-context-
    # keys.html). We read it as ForAllValues over the values present: it never holds just
    # because one of the values matches. For one value this is the plain comparison.
    if prefix == "ForAnyValue":
        return any(satisfied(value) for value in present)
    return all(satisfied(value) for value in present)


def _null_holds(prefix: str | None, values: Sequence[str], present: tuple[str, ...] | None) -> bool:
    # Null "true" asks for the key to be absent, "false" for it to be present ("Condition
    # operator to check existence of condition keys"). Under a set operator, each request value
    # is tested on its own, and a value that is there is never null: "false" holds for it,
    # "true" does not. Over no values ForAllValues is true and ForAnyValue false, as for every
    # operator ("Multivalued context keys": ForAllValues "also returns true if there are no
    # context keys in the request"), so ForAllValues:Null "false" holds for a missing key.
    wants_absent = [value.lower() == "true" for value in values]
    if prefix is None:
        return any(wanted == (not present) for wanted in wants_absent)
    if not present:
        return prefix == "ForAllValues"
    return any(not wanted for wanted in wants_absent)


def conditions_match(conditions: Conditions, context: Context, *, variables: bool = True) -> bool:
    """True if every operator and key of a Condition block holds for the request context."""
    return all(
        condition_holds(operator, key, values, context, variables=variables)
        for operator, entries in conditions.items()
        for key, values in entries.items()
    )


def conditions_state(
    conditions: Conditions, context: Context, *, variables: bool = True
) -> bool | None:
    """Like `conditions_match` over a partly known request: None when the answer depends on a
    key the context does not name. The context names the keys it knows; `()` is a key known
    to be absent. False wins over None: one entry that cannot hold decides."""
    unknown = False  # pragma: no mutate (None is as false here: an equivalent mutant)
    for operator, entries in conditions.items():
        for key, values in entries.items():
            listed = (values,) if isinstance(values, str) else values
            needed = [key, *(referenced_keys(listed) if variables else [])]
            if any(context_values(context, name) is None for name in needed):
                unknown = True
            elif not condition_holds(operator, key, values, context, variables=variables):
                return False
    return None if unknown else True


def failing_conditions(
    conditions: Conditions, context: Context, *, variables: bool = True
) -> list[Entry]:
    """The (operator, key, values) entries of a Condition block that do not hold."""
    return [
        (operator, key, tuple(values))
        for operator, entries in conditions.items()
        for key, values in entries.items()
        if not condition_holds(operator, key, values, context, variables=variables)
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
    # Equivalent mutants: maxsplit only saves work, the first piece is the same without it.
    repo = re.split(r"[:@]", rest, maxsplit=1)[0]  # pragma: no mutate
    owner_id = owner_part.partition("@")[2]
    repo_id = rest.partition(":")[0].partition("@")[2]
    if has_wildcard(owner_id) or has_wildcard(repo_id):
        # GitHub added the IDs so a recycled owner or repository name no longer matches
        # (Changelog 2026-04-23, "Immutable subject claims"); `@*` accepts any ID and reopens it.
        return "warn", (
            f"The sub pattern '{pattern}' accepts any owner or repository ID after '@': a "
            f"deleted '{owner}' or repository whose name someone re-creates matches again, the "
            "hole immutable subjects close. Write the IDs (`gh api repos/OWNER/REPO --jq "
            "'.owner.id, .id'`)."
        )
    if has_wildcard(repo):
        which = "" if repo == "*" else f" whose name fits '{repo}'"
        return "warn", (
            f"The sub pattern '{pattern}' matches every repository of '{owner}'{which}: "
            f"name the repository."
        )
    return None

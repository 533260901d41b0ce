"""IAM policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`), substituted.

AWS's rules (IAM User Guide, "IAM policy elements: Variables and tags",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html, and
"IAM JSON policy elements: Version",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html):

- variables work only in policies whose `Version` is `2012-10-17`; under `2008-10-17` (the
  default when `Version` is missing) `${aws:username}` is the literal text;
- they may appear in `Resource` and in condition values;
- `${*}`, `${?}` and `${$}` are a literal `*`, `?` and `$`;
- `${key, 'default'}` uses the default when the key is missing (`''` is one quote);
- a variable AWS cannot resolve (a missing key without default, or a key with several values:
  "you cannot use a multivalued context key as a policy variable") makes the statement
  invalid for that request: it neither allows nor denies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

Context = Mapping[str, str | Sequence[str]]

_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_REFERENCE = re.compile(r"^\s*([^\s,'{}]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")
_ESCAPES = frozenset("*?$")


def lookup(context: Context, key: str) -> tuple[str, ...] | None:
    """The request's values for a key (keys are case-insensitive), or None if it names none.

    `()` is a key known to be absent (see `conditions.conditions_state`).
    """
    wanted = key.lower()
    for name, value in context.items():
        if name.lower() == wanted:
            return (value,) if isinstance(value, str) else tuple(value)
    return None


def referenced_keys(values: Iterable[str]) -> list[str]:
    """The context keys the policy variables in `values` read."""
    keys = []
    for value in values:
        for match in _VARIABLE.finditer(value):
            reference = _REFERENCE.match(match.group(1))
            if match.group(1) not in _ESCAPES and reference:
                keys.append(reference.group(1))
    return keys


def substitute(value: str, context: Context, *, pattern: bool) -> str | None:
    """`value` with its variables replaced from the request; None when one cannot be resolved.

    With `pattern`, the result is a StringLike/ArnLike pattern: the escapes are kept and every
    substituted value is escaped, so a `*` in a tag value matches only a `*`.
    """
    out: list[str] = []
    position = 0  # pragma: no mutate (None slices from the start as 0 does: an equivalent mutant)
    for match in _VARIABLE.finditer(value):
        out.append(value[position : match.start()])
        position = match.end()
        inner = match.group(1)
        if inner in _ESCAPES:
            out.append(match.group(0) if pattern else inner)
            continue
        reference = _REFERENCE.match(inner)
        if reference is None:
            return None  # not a variable AWS could read: the statement never applies
        key, default = reference.group(1), reference.group(2)
        found = lookup(context, key)
        if found is not None and len(found) == 1:
            text = found[0]
        elif not found and default is not None:
            text = default.replace("''", "'")
        else:
            return None
        out.append(escape(text) if pattern else text)
    out.append(value[position:])
    return "".join(out)


def escape(text: str) -> str:
    """Text as a pattern that matches only itself."""
    return "".join(f"${{{char}}}" if char in _ESCAPES else char for char in text)


def literal(value: str) -> str:
    """A pattern from a policy without variables (Version 2008-10-17): every `$` is itself,
    so `${*}` is a `$`, a `{`, a wildcard and a `}`, as AWS reads it there."""
    return value.replace("$", "${$}")

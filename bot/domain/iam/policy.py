"""IAM policy documents: parsing into statements, and which actions and resources they cover."""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from bot.domain.iam.conditions import Context, PolicyError, parse_operator, wildcard_match
from bot.domain.iam.variables import literal, substitute

# Only this version of the policy language has policy variables ("IAM JSON policy elements:
# Version"); without a Version element a document is read as 2008-10-17.
VARIABLES_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Statement:
    """One policy statement, with every string-or-list element normalised to a tuple."""

    sid: str | None
    effect: Literal["Allow", "Deny"]
    # Principal type -> values; a bare `"Principal": "*"` is kept as {"*": ("*",)}.
    principal: dict[str, tuple[str, ...]]
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    conditions: dict[str, dict[str, tuple[str, ...]]]  # operator -> key -> values
    not_principal: dict[str, tuple[str, ...]] = field(default_factory=dict)
    variables: bool = True  # its document's Version is 2012-10-17: `${...}` are substituted


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Unreadable:
    """A policy document the evaluator could not read, and why.

    Everything `parse_policy` refuses, AWS refuses too (MalformedPolicyDocument): a document
    like this can't be saved as written, so it is named, never silently skipped.
    """

    name: str
    reason: str


def read_policies(
    documents: Mapping[str, dict[str, Any] | str],
) -> tuple[dict[str, Policy], tuple[Unreadable, ...]]:
    """Each document parsed on its own: one that can't be read never hides the others."""
    policies: dict[str, Policy] = {}
    unreadable: list[Unreadable] = []
    for name, document in documents.items():
        try:
            policies[name] = parse_policy(document)
        except PolicyError as error:
            unreadable.append(Unreadable(name, str(error)))
    return policies, tuple(unreadable)


def parse_policy(document: dict[str, Any] | str) -> Policy:
    """Read a policy document given as a dict, a JSON string or a URL-encoded JSON string."""
    if isinstance(document, str):
        text = document.strip()
        # GetPolicyVersion's documents are URL-encoded; a raw JSON document starts with "{" and
        # is never decoded, so a literal "%3A" in it (GitHub's escaped colon) survives.
        if not text.startswith("{"):
            text = unquote(text).strip()
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as error:  # also too deep, or a 5,000-digit number
            raise PolicyError(f"policy document is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyError("policy document must be a JSON object with a Statement")
    if "Statement" not in document:
        raise PolicyError("policy document has no Statement")
    raw = document["Statement"]
    raw_statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw_statements, list):
        raise PolicyError("Statement must be an object or a list of objects")
    version = document.get("Version")
    if version not in (None, "2008-10-17", VARIABLES_VERSION):
        raise PolicyError(f'Version must be "{VARIABLES_VERSION}" or "2008-10-17", not {version!r}')
    variables = version == VARIABLES_VERSION
    return Policy(
        tuple(_statement(item, index, variables) for index, item in enumerate(raw_statements))
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    # Condition values may be JSON booleans or numbers (`"Null": {"k": true}`); IAM reads
    # them as their string forms.
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            shown = reprlib.repr(item)  # bounded, and safe however deeply it nests
            raise PolicyError(f"{where} must be a string or a list of strings, not {shown}")
    return tuple(out)


def _principal(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict):
        raise PolicyError(f'{where} must be "*" or an object such as {{"Federated": "arn..."}}')
    return {kind: _strings(ids, f"{where}.{kind}") for kind, ids in value.items()}


def _statement(raw: Any, index: int, variables: bool) -> Statement:
    where = f"statement {index + 1}"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        shown = reprlib.repr(effect)
        raise PolicyError(f'{where}: Effect must be "Allow" or "Deny", not {shown}')
    pairs = (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal"))
    for one, other in pairs:
        if one in raw and other in raw:
            raise PolicyError(f"{where} has both {one} and {other}; use one")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError(f"{where} has neither Action nor NotAction")
    conditions = raw.get("Condition", {})
    if not isinstance(conditions, dict) or not all(
        isinstance(v, dict) for v in conditions.values()
    ):
        raise PolicyError(f'{where}: Condition must look like {{"StringEquals": {{"key": "v"}}}}')
    for operator, keys in conditions.items():
        parse_operator(operator)  # refuse operators IAM would refuse, naming them now
        for key in keys:
            _check_key(key, f"{where}: {operator}")
    sid = raw.get("Sid")
    return Statement(
        sid=str(sid) if sid not in (None, "") else None,
        effect=effect,
        principal=_principal(raw.get("Principal"), f"{where}: Principal"),
        actions=_strings(raw.get("Action", []), f"{where}: Action"),
        not_actions=_strings(raw.get("NotAction", []), f"{where}: NotAction"),
        resources=_strings(raw.get("Resource", []), f"{where}: Resource"),
        not_resources=_strings(raw.get("NotResource", []), f"{where}: NotResource"),
        conditions={
            operator: {key: _strings(v, f"{where}: {operator} {key}") for key, v in keys.items()}
            for operator, keys in conditions.items()
        },
        not_principal=_principal(raw.get("NotPrincipal"), f"{where}: NotPrincipal"),
        variables=variables,
    )


def _check_key(key: str, where: str) -> None:
    # A condition key is `prefix:name`; an OIDC provider's prefix is its URL without the
    # scheme (token.actions.githubusercontent.com:sub). A key holding a URL is a key IAM
    # refuses: the document can't be saved with it.
    if "://" in key or not key.strip() or key != key.strip():
        shown = reprlib.repr(key)
        hint = ""
        if "://" in key:
            hint = f" (name the provider without its scheme: '{key.split('://', 1)[1]}')"
        raise PolicyError(f"{where}: condition key {shown} is not a valid key{hint}")


def statement_label(statement: Statement, index: int) -> str:
    return f"statement '{statement.sid}'" if statement.sid else f"statement {index + 1}"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize would lowercase the Sid


def covers_action(statement: Statement, action: str) -> bool:
    # Action names are case-insensitive in IAM ("ECR:PutImage" is "ecr:PutImage").
    if statement.actions:
        return any(wildcard_match(p, action, ignore_case=True) for p in statement.actions)
    return not any(wildcard_match(p, action, ignore_case=True) for p in statement.not_actions)


def covers_resource(statement: Statement, resource: str, context: Context | None = None) -> bool:
    """Whether the statement's Resource (or NotResource) covers `resource`.

    Policy variables are substituted from `context`; a pattern whose variable can't be
    resolved covers nothing (AWS: the statement is invalid for that request).
    """
    if statement.resources:
        return any(_resource_matches(statement, p, resource, context) for p in statement.resources)
    if statement.not_resources:
        return not any(
            _resource_matches(statement, p, resource, context) for p in statement.not_resources
        )
    return True  # no Resource: a trust or resource policy, which applies to its own resource


def _resource_matches(
    statement: Statement, pattern: str, resource: str, context: Context | None
) -> bool:
    if not statement.variables:
        return wildcard_match(literal(pattern), resource)
    resolved = substitute(pattern, context or {}, pattern=True)
    return resolved is not None and wildcard_match(resolved, resource)

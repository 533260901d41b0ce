"""IAM policy documents: parsing into statements, and which actions and resources they cover."""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from bot.domain.iam.conditions import PolicyError, parse_operator, wildcard_match


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


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    statements: tuple[Statement, ...]


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
    return Policy(tuple(_statement(item, index) for index, item in enumerate(raw_statements)))


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


def _statement(raw: Any, index: int) -> Statement:
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
    for operator in conditions:
        parse_operator(operator)  # refuse operators we could not evaluate, naming them now
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
    )


def statement_label(statement: Statement, index: int) -> str:
    return f"statement '{statement.sid}'" if statement.sid else f"statement {index + 1}"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize would lowercase the Sid


def covers_action(statement: Statement, action: str) -> bool:
    # Action names are case-insensitive in IAM ("ECR:PutImage" is "ecr:PutImage").
    if statement.actions:
        return any(wildcard_match(p, action, ignore_case=True) for p in statement.actions)
    return not any(wildcard_match(p, action, ignore_case=True) for p in statement.not_actions)


def covers_resource(statement: Statement, resource: str) -> bool:
    if statement.resources:
        return any(wildcard_match(p, resource) for p in statement.resources)
    if statement.not_resources:
        return not any(wildcard_match(p, resource) for p in statement.not_resources)
    return True  # no Resource: a trust or resource policy, which applies to its own resource

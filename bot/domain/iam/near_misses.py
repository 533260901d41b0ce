"""Why a GitHub job's request fails a trust condition, in words: `/ecr diagnose` near misses."""

from __future__ import annotations

import re

from bot.domain.iam.conditions import (
    Context,
    Entry,
    context_values,
    has_wildcard,
    is_negated,
    parse_operator,
    resolve_values,
    wildcard_match,
)
from bot.domain.iam.variables import referenced_keys

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
    entry: Entry,
    context: Context,
    *,
    subject_key: str,
    audience_key: str,
    variables: bool = True,
) -> list[str]:
    """Human reasons why one failing (operator, key, values) entry does not hold."""
    operator, key, values = entry
    prefix, base, _ = parse_operator(operator)
    present = context_values(context, key)
    shown = ", ".join(f"'{value}'" for value in values)
    if base == "Null":
        state = "absent" if any(v.lower() == "true" for v in values) else "present"
        return [f"requires {key} to be {state} ({operator})"]
    if resolve_values(base, values, context, variables) is None:
        names = ", ".join(f"${{{name}}}" for name in dict.fromkeys(referenced_keys(values)))
        return [
            f"uses the policy variable {names or 'in ' + shown}, which this request cannot "
            f"resolve, so AWS treats the statement as invalid for it (IAM only sees the token "
            f"claims it supports as condition keys)"
        ]
    if not present:
        return [
            f"requires {key}, which this request does not carry (IAM only sees the token claims "
            f"it supports as condition keys)"
        ]
    if len(present) > 1 and prefix is None:
        return [
            f"compares the several values of {key} with the single-valued {operator}: "
            f"use ForAnyValue:{operator} or ForAllValues:{operator}"
        ]
    if is_negated(base):
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

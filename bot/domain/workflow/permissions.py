"""What GitHub gives a workflow job: GITHUB_TOKEN permissions (`id-token`) and OIDC subjects.

The permission rules, from GitHub's docs (docs.github.com/en/actions, "Controlling permissions for
GITHUB_TOKEN", "GITHUB_TOKEN reference" and "Reusing workflow configurations"):

- a workflow-level block applies to every job; a job-level block replaces it for that job;
- once any permission is named, every permission not named is `none`;
- `write-all` grants every scope, `read-all` gives read to every scope, `{}` gives none;
- `id-token` has no read level (`write` or `none`), so `read-all` leaves it at none;
- neither default (permissive nor restricted) includes `id-token: write`;
- a called (reusable) workflow can only keep or lower its caller job's permissions. A
  called job that asks for more makes GitHub reject the whole run ("The nested job 'x' is
  requesting 'id-token: write', but is only allowed 'id-token: none'").

The subject rules ("OpenID Connect reference", Example subject claims): an environment wins,
then a `pull_request` event gives `pull_request`, anything else the ref of the run
(`ref:refs/heads/BRANCH` or `ref:refs/tags/TAG`); ":" in a value is written "%3A".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

IdToken = Literal["write", "none"]
Source = Literal["job", "workflow", "default", "caller"]

LEVELS = ("read", "write", "none")
# The scopes read-all expands to when a fix must name them one by one (id-token excluded:
# it has no read level). From the docs' list of available permissions.
READ_SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions",
    "issues", "models", "packages", "pages", "pull-requests", "security-events", "statuses",
)  # fmt: skip


@dataclass(frozen=True)
class Grant:
    """What one `permissions` block gives the GITHUB_TOKEN (or `default`: no block at all)."""

    kind: Literal["scopes", "read-all", "write-all", "default"]
    scopes: tuple[tuple[str, str], ...] = ()
    problem: str | None = None  # why GitHub would reject the block

    @property
    def id_token(self) -> IdToken:
        """`write` when this block lets the job request an OIDC token."""
        if self.problem is not None:
            return "none"
        if self.kind == "write-all":
            return "write"
        return "write" if dict(self.scopes).get("id-token") == "write" else "none"

    def describe(self) -> str:
        """The block as it reads in the workflow, e.g. `{contents: read}`."""
        if self.kind in ("read-all", "write-all"):
            return self.kind
        if self.kind == "default":
            return "the repository default"
        return "{" + ", ".join(f"{scope}: {level}" for scope, level in self.scopes) + "}"

    def with_id_token(self) -> tuple[tuple[str, str], ...]:
        """This block's scopes with `id-token: write` added, ready to paste as a job block."""
        if self.kind == "write-all":
            return (("id-token", "write"),)  # unreachable for a fix; kept total
        if self.kind == "read-all":
            kept = tuple((scope, "read") for scope in READ_SCOPES)
        elif self.kind == "default":
            # Without a block the job had the repository default; naming any scope drops
            # the rest, so keep what actions/checkout needs, as the runbook's example does.
            kept = (("contents", "read"),)
        else:
            named = ((s, lv) for s, lv in self.scopes if s != "id-token")
            kept = tuple((s, lv) for s, lv in named if lv in ("read", "write"))
        return (*kept, ("id-token", "write"))


DEFAULT = Grant("default")


def parse_permissions(value: object) -> Grant:
    """Read a `permissions:` value: `read-all`, `write-all` or a scope mapping."""
    if value in ("read-all", "write-all"):
        return Grant("read-all" if value == "read-all" else "write-all")
    if not isinstance(value, dict):
        why = f"`permissions: {value}` is not read-all, write-all or a map"
        return Grant("scopes", problem=why)
    scopes: list[tuple[str, str]] = []
    problem: str | None = None
    for scope, level in value.items():
        scopes.append((str(scope), str(level)))
        if level not in LEVELS:
            problem = f"`{scope}: {level}` is not read, write or none"
        elif scope == "id-token" and level == "read":
            problem = "`id-token: read` is not allowed (only write or none)"
    return Grant("scopes", tuple(scopes), problem)


@dataclass(frozen=True)
class Verdict:
    """A job's effective `id-token` and the one sentence that explains it."""

    id_token: IdToken
    reason: str
    source: Source


def decide(
    job_block: Grant | None,
    workflow_block: Grant | None,
    caller: tuple[str, IdToken] | None = None,
) -> Verdict:
    """Apply GitHub's rules; `caller` is (label, id-token) of the job calling this workflow."""
    own, where = (job_block, "job") if job_block is not None else (workflow_block, "workflow")
    if own is None:
        if caller is not None:
            label, given = caller
            reason = (
                f"it declares no permissions, so it gets what {label} grants: id-token: {given}"
            )
            return Verdict(given, reason, "caller")
        return Verdict(
            "none",
            "no permissions block in the job or workflow, so the repository's default token "
            "applies, and neither default (permissive or restricted) includes id-token: write",
            "default",
        )
    source: Source = "job" if where == "job" else "workflow"
    base = f"{where}-level permissions"
    if own.problem is None or own.scopes:  # a value that is no block at all has no scopes
        base += f" {own.describe()}"
    if own.id_token == "none":  # noqa: S105 (a permission level)
        replaces = job_block is not None and workflow_block is not None
        return Verdict("none", _why_none(own, base, replaces), source)
    if caller is not None and caller[1] == "none":
        return Verdict(
            "none",
            f"{base} request id-token: write, but {caller[0]} grants only id-token: none and a "
            "called workflow cannot raise its caller's permissions, so GitHub rejects the run",
            "caller",
        )
    grants = "grant id-token: write"
    if own.kind == "write-all":
        grants = "grant every scope, id-token: write included"
    also = f", and {caller[0]} grants it too" if caller is not None else ""
    return Verdict("write", f"{base} {grants}{also}", source)


def _why_none(own: Grant, base: str, replaces: bool) -> str:
    if own.problem is not None:
        return f"{base} are invalid ({own.problem}), so GitHub rejects the workflow"
    if own.kind == "read-all":
        return f"{base} give read to every scope, and id-token has no read level, so it is none"
    if not own.scopes:
        return f"{base} set every scope, id-token included, to none"
    if dict(own.scopes).get("id-token") == "none":
        return f"{base} set id-token: none"
    replacing = "replace the workflow's and " if replaces else ""
    return f"{base} {replacing}do not name id-token, so it is none"


@dataclass(frozen=True)
class RefRule:
    """The refs one trigger runs on: branch or tag globs (minus exclusions), or a PR event."""

    kind: Literal["heads", "tags", "pull_request"]
    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()
    event: str = ""


def parse_triggers(on: object) -> tuple[tuple[str, ...], tuple[RefRule, ...]]:
    """The events of an `on:` value and the refs each runs on."""
    events = mapping_of(on) if isinstance(on, dict) else {e: None for e in strings_of(on)}
    rules: list[RefRule] = []
    for event, config in events.items():
        cfg = mapping_of(config)
        if event == "push":
            # Docs: "If you define only tags/tags-ignore or only branches/branches-ignore, the
            # workflow won't run for events affecting the undefined Git ref."
            branches, tags = (
                ("branches" in cfg or "branches-ignore" in cfg),
                ("tags" in cfg or "tags-ignore" in cfg),
            )
            if branches or not tags:
                rules.append(_rule("heads", cfg, "branches", event))
            if tags or not branches:
                rules.append(_rule("tags", cfg, "tags", event))
        elif event == "pull_request":
            rules.append(RefRule("pull_request", event=event))
        elif event == "pull_request_target":
            # It runs on the base branch, so its ref is that branch, not `pull_request`.
            rules.append(_rule("heads", cfg, "branches", event))
        elif event == "release":
            rules.append(RefRule("tags", event=event))
        elif event != "workflow_call":  # a called workflow runs with its caller's event
            # workflow_dispatch, schedule and the rest run on a branch: the default one
            # unless someone dispatches another.
            rules.append(RefRule("heads", event=event))
    return tuple(events), tuple(dict.fromkeys(rules))


def _rule(kind: Literal["heads", "tags"], cfg: dict[str, object], key: str, event: str) -> RefRule:
    patterns = strings_of(cfg.get(key))
    positive = tuple(p for p in patterns if not p.startswith("!")) or ("**",)
    negative = tuple(p[1:] for p in patterns if p.startswith("!"))
    return RefRule(kind, positive, negative + strings_of(cfg.get(f"{key}-ignore")), event)


def runs_on_branch(rule: RefRule, branch: str) -> bool:
    """Whether a branch rule covers `branch`."""
    included = any(_glob(pattern, branch) for pattern in rule.include)
    return rule.kind == "heads" and included and not any(_glob(x, branch) for x in rule.exclude)


def rule_subjects(rule: RefRule, branch: str) -> tuple[str, ...]:
    """The `sub` claim endings a rule yields, `branch` being the default branch."""
    if rule.kind == "pull_request":
        return ("pull_request",)
    if rule.kind == "tags":  # the tag is only known at run time: keep the filter as a pattern
        return tuple(f"ref:refs/tags/{escape_claim(p.replace('**', '*'))}" for p in rule.include)
    # A filter covering the default branch yields its subject; other filters yield their
    # pattern, since the branch is only known at run time.
    subjects = [f"ref:refs/heads/{escape_claim(branch)}"] if runs_on_branch(rule, branch) else []
    for pattern in rule.include:
        if not _glob(pattern, branch) or rule.exclude:
            subjects.append(f"ref:refs/heads/{escape_claim(pattern.replace('**', '*'))}")
    return tuple(subjects)


@lru_cache(maxsize=512)
def _glob(pattern: str, name: str) -> bool:
    # GitHub's filter globs: `*` stops at `/`, `**` does not, `?`/`+` repeat the character
    # before them, as in a regex. A workflow's author picks the pattern, and a backtracking
    # regex takes minutes on `**`*12 + "X"; so every position of the pattern is tracked at once,
    # one bit each (an NFA, bit-parallel): about len(name) big-int steps, never a backtrack.
    glob = _compile_glob(pattern)
    if glob is None:
        return pattern == name
    fits: dict[str, int] = {}
    state = glob.close(1)  # bit i: the next character may be matched by atom i
    for char in name:
        if char not in fits:
            fits[char] = glob.fit(char)
        hit = state & fits[char]
        state = glob.close(((hit & ~glob.repeats) << 1) | (hit & glob.repeats))
        if not state:
            return False
    return bool(state >> len(glob.chars))  # the bit past the last atom: all of it matched


@dataclass(frozen=True)
class _Glob:
    """A glob as atoms: `chars[i]` and a kind for each. Kinds: the character once, or optional
    (`x?`), or a run of it (what `x+` adds after one `x`), `*` (a run without `/`) or `**`."""

    chars: str
    literal: int  # bit masks over the atoms
    optional: int
    repeats: int
    no_slash: int
    anything: int

    def close(self, state: int) -> int:
        """Add the atoms reached by skipping optional ones: each bit set inside a run of
        optional atoms fills the run from there and the atom after it (one carry per run)."""
        return state | (self.optional ^ (self.optional + (state & self.optional)))

    def fit(self, char: str) -> int:
        """The atoms that can match `char`."""
        bits = bytearray(len(self.chars) // 8 + 1)
        at = self.chars.find(char)
        while at != -1:
            bits[at >> 3] |= 1 << (at & 7)
            at = self.chars.find(char, at + 1)
        found = int.from_bytes(bits, "little") & self.literal
        return (
            found | (self.anything if char != "\n" else 0) | (self.no_slash if char != "/" else 0)
        )


@lru_cache(maxsize=256)
def _compile_glob(pattern: str) -> _Glob | None:
    """None when the pattern starts with `?` or `+` (nothing to repeat): the regex this
    replaces refused it, so such a pattern only matches itself."""
    chars: list[str] = []
    kinds: list[str] = []  # "1" once, "?" optional, "+" a run of it, "*" and "A" (`**`)
    i = 0
    while i < len(pattern):
        wild = "**" if pattern.startswith("**", i) else pattern[i]
        i += len(wild)
        if wild in ("**", "*"):
            kind = "A" if wild == "**" else "*"
            if not kinds or kinds[-1] != kind:  # `.*.*` is `.*`: one will do
                chars.append("*")
                kinds.append(kind)
        elif wild in ("?", "+"):
            if not kinds:
                return None
            if kinds[-1] == "1":  # after a quantifier the regex read it as lazy or possessive;
                # here it changes nothing
                kinds[-1] = "?" if wild == "?" else "1"
                if wild == "+":
                    chars.append(chars[-1])
                    kinds.append("+")
        else:
            chars.append(wild)
            kinds.append("1")
    text = "".join(kinds)[::-1]  # bit i is atom i

    def mask(of: str) -> int:
        return int(text.translate({ord(k): "1" if k in of else "0" for k in "1?+*A"}) or "0", 2)

    return _Glob("".join(chars), mask("1?+"), mask("?+*A"), mask("+*A"), mask("*"), mask("A"))


def escape_claim(value: str) -> str:
    """A claim value as GitHub writes it in `sub`."""
    return value.replace(":", "%3A")  # docs: ":" in a claim value is written "%3A"


def mapping_of(value: object) -> dict[str, object]:
    """`value` as a str-keyed dict, or empty when it is not a mapping."""
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def strings_of(value: object) -> tuple[str, ...]:
    """A scalar or a list of scalars, as strings."""
    if isinstance(value, list):
        return tuple(str(v) for v in value if v is not None)
    return () if value is None else (str(value),)

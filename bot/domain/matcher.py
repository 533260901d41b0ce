"""The one matcher of known error signatures, for triage and for the push pipeline's failures.

The rule for a pasted text (triage): a signature matches only on a line that *shows* an error.
A line shows an error when the signature's phrase
  1. starts the line (after log noise: timestamps, `[tags]`, `>` quotes, step numbers), or
  2. follows an error marker on that line (`Error:`, `ERROR:`, `[error]`, `...Exception:`,
     `denied:`, `fatal:`, `failed:`, `Error response from daemon:`, BuildKit's `failed to solve:`,
     `An error occurred (Code) when calling the X operation:`, `message: '...`), or
  3. is an error code in its code form: followed by or holding a colon (`toomanyrequests: ...`,
     `name unknown: ...`, `denied: requested access...`) or in parentheses
     (`An error occurred (RepositoryNotFoundException) ...`). A code in prose
     ("toomanyrequests is Docker Hub's code") is not an error, not even at the line's start;
  and a few loose phrases (`docker engine`, `docker.sock`, `Dockerfile ... not found`) count
  only after an error marker (rule 2);
and the line is neither a question (it ends with `?`) nor says it recovered (`succeeded`,
`recovered`, `refreshed`, `resolved`, `retrying`, `fixed`, `works now`...).
Chatter that quotes an error is not a paste of one (issue #18):
  4. a phrase inside quotes (`code`, "double", 'single', “curly”) that follow a prose cue on
     its line (`PSA`, `FYI`, `if`, `when`, `means`, `e.g.`, `says`...) is quoted, not shown;
  5. a message of one line (no code block, no second line) must be log-shaped: the phrase, or
     the line's first error marker, comes first on it (after log noise). "Error: Incorrect
     token audience" is answered; "yesterday Hub said toomanyrequests: ... all afternoon" not.
So "how do I avoid 'no basic auth credentials'?" and "token expired, refreshed, push succeeded"
match nothing, while the same words as the first line of docker's answer match.

A region mismatch is judged over the whole text: an ECR host in one region and an `aws-region`,
`--region`, `AWS_REGION` or `AWS_DEFAULT_REGION` naming others only, in a text that shows an
error by the rule above.

A failure the pipeline already knows failed (`known_failure=True`) skips the shape rule: the
text is an error by where it came from. Everything scanned is bounded: the first 20,000
characters, 2,000 per line, and the patterns have no nested quantifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Template

from bot.domain.signatures import BY_ID, CATALOGUE, REGION, Signature, least_privilege
from bot.domain.text import code, plain

MAX_TEXT = 20_000  # characters of a message or error scanned; the rest is ignored
MAX_LINE = 2_000  # characters of one line scanned
MAX_DETAIL = 200  # characters of one extracted detail kept

_ERROR_MARK = re.compile(
    r"(?:error|exception|fatal|failed|failure|denied)(?::|\]| response from daemon:)"
    r"|error occurred \(\w{1,60}\) when calling the \w{1,60} operation:"
    r"|\bmessage['\"]?\s{0,3}[:=]\s{0,3}['\"]"  # a log's "message": "..." (JSON, YAML)
    r"|\bfailed to solve(?: with frontend [\w.]{1,40})?:",  # how BuildKit reports an error
    re.IGNORECASE,
)
_RECOVERED = re.compile(
    r"\b(?:succeeded|recovered|refreshed|resolved|retrying|retried"
    r"|fixed|works now|working now|no longer)\b",
    re.IGNORECASE,
)
# Log noise before a message: [Container], [ERROR], ##[error], and ISO timestamps (GitHub's).
_NOISE = re.compile(
    r"\[[^\]\n]{0,60}\]|\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?"
)
_CONFIGURED_REGION = re.compile(
    rf"(?:aws-region|--region|AWS_REGION|AWS_DEFAULT_REGION)[\"']?\s{{0,3}}[:= ]\s{{0,3}}"
    rf"[\"']?(?P<region>{REGION})\b"
)
_MAX_FINDINGS = 50  # hosts or region settings looked at in one text
# Words that introduce a quote about an error rather than a paste of one (rule 4).
_PROSE_CUE = re.compile(
    r"\b(?:psa|fyi|heads[ -]?up|tip|reminder|note|if|when|whenever|unless|means?|meaning"
    r"|e\.g|i\.e|such as|says?|said|called|avoid|explains?|docs?|documentation|faq)\b",
    re.IGNORECASE,
)
_STRUCTURED = re.compile(r"\s{0,40}(?:\{\s{0,5}\"|[a-z_]{1,30}=)", re.IGNORECASE)  # JSON, logfmt
_OPENING_SINGLE = re.compile(r"(?:^|(?<=[\s(\[]))'")


@dataclass(frozen=True)
class Match:
    """A signature found in a text: the words for people and what the text named."""

    id: str
    title: str
    explanation: str
    fix: str
    details: tuple[tuple[str, str], ...] = ()
    line: str = ""  # the line that showed it, made safe with plain()

    def detail(self, name: str) -> str | None:
        """One extracted detail (e.g. `action`, `repository`), or None."""
        return dict(self.details).get(name)


def match(text: str, *, known_failure: bool = False) -> list[Match]:
    """Every known signature `text` shows, the best explanation first."""
    scanned = text[:MAX_TEXT]
    found: dict[str, Match] = {}
    shows_error = False  # pragma: no mutate (None is as false here: an equivalent mutant)
    one_line = not known_failure and not _pasted(scanned)
    for raw_line in scanned.splitlines():
        line = raw_line[:MAX_LINE]
        if not known_failure and _is_question_or_recovery(line):
            continue
        mark = _ERROR_MARK.search(line)
        marked = mark is not None and (not one_line or _log_shaped(line, mark.start()))
        for signature in CATALOGUE[1:]:
            if signature.id in found:
                continue
            hit = _hit(signature, line, known_failure, one_line)
            if hit is not None:
                found[signature.id] = _make(signature, _groups(hit), line)
        shows_error = shows_error or marked or bool(found)
    if known_failure or shows_error:
        mismatch = _region_mismatch(scanned)
        if mismatch:
            found[mismatch.id] = mismatch
    order = {signature.id: index for index, signature in enumerate(CATALOGUE)}
    return sorted(found.values(), key=lambda m: order[m.id])


def first_match(text: str, *, known_failure: bool = False) -> Match | None:
    """The best explanation of `text`, or None when it shows no known signature."""
    matches = match(text, known_failure=known_failure)
    return matches[0] if matches else None


def _hit(
    signature: Signature, line: str, known_failure: bool, one_line: bool
) -> re.Match[str] | None:
    """The signature on this line, if the line shows it as an error (or it is known to be one)."""
    hit = signature.pattern.search(line)
    if hit and (
        known_failure
        or (
            _shows_error(signature, line, hit.start(), hit.end())
            and _pasted_here(line, hit.start(), one_line)
        )
    ):
        return hit
    loose = signature.loose.search(line) if signature.loose else None
    if loose and (
        known_failure
        or (
            _ERROR_MARK.search(line[: loose.start()])
            and _pasted_here(line, loose.start(), one_line)
        )
    ):
        return loose
    return None


def _pasted(text: str) -> bool:
    """A paste signal over the whole message: a code block, or more than one line."""
    if "```" in text:
        return True
    return sum(1 for line in text.splitlines() if line.strip()) > 1


def _pasted_here(line: str, start: int, one_line: bool) -> bool:
    """Rules 4 and 5: not quoted after a prose cue, and log-shaped in a one-line message."""
    if _quoted_after_cue(line, start):
        return False
    return not one_line or _log_shaped(line, start)


def _log_shaped(line: str, start: int) -> bool:
    """A structured log line (JSON, `key=value`), or the phrase at `start` or the line's first
    error marker comes first (after noise)."""
    if _STRUCTURED.match(line) or not _has_words(line[:start]):
        return True
    mark = _ERROR_MARK.search(line)
    if mark is None or mark.start() > start:
        return False
    # "An error occurred (Code) when calling ...": the marker's own first word.
    prefix = line[: mark.start()]
    return not _has_words(prefix) or _NOISE.sub("", prefix).strip().lower() == "an"


def _has_words(text: str) -> bool:
    return any(char.isalpha() for char in _NOISE.sub("", text))


def _quoted_after_cue(line: str, start: int) -> bool:
    """Whether `start` is inside a quote that opens after a prose cue on this line."""
    before = line[:start]
    # Where each kind of quote left open starts; the last one opened is the one `start` is in.
    # (A list rather than a -1 start value: no "nothing open" number to compare against.)
    opened = [before.rfind(quote) for quote in ("`", '"') if before.count(quote) % 2 == 1]
    if before.rfind("\u201c") > before.rfind("\u201d"):
        opened.append(before.rfind("\u201c"))
    singles = [hit.start() for hit in _OPENING_SINGLE.finditer(before)]
    if singles and "'" not in before[singles[-1] + 1 :]:
        opened.append(singles[-1])
    return bool(opened) and _PROSE_CUE.search(before[: max(opened)]) is not None


def _is_question_or_recovery(line: str) -> bool:
    return line.rstrip().endswith("?") or _RECOVERED.search(line) is not None


def _shows_error(signature: Signature, line: str, start: int, end: int) -> bool:
    """Whether the phrase at `start` is an error on this line (the module's rule, 1 to 3)."""
    before = line[:start]
    if _ERROR_MARK.search(before):
        return True
    if signature.coded:
        return _in_code_form(line, start, end)
    return not any(char.isalpha() for char in _NOISE.sub("", before))


def _in_code_form(line: str, start: int, end: int) -> bool:
    """`code: message`, `code` holding its colon, or `(Code)`: how tools print error codes."""
    if ":" in line[start:end] or line[end : end + 1] == ":":
        return True
    return line[:start].rstrip().endswith("(") and line[end:].lstrip().startswith(")")


def _groups(hit: re.Match[str]) -> dict[str, str]:
    return {
        name: value[:MAX_DETAIL] for name, value in hit.groupdict().items() if value is not None
    }


def _region_mismatch(text: str) -> Match | None:
    """An ECR host's region that no region setting in the text names (and some setting)."""
    signature = BY_ID["region_mismatch"]
    hosts: list[str] = []
    for hit in signature.pattern.finditer(text):
        if len(hosts) == _MAX_FINDINGS:
            break
        hosts.append(hit["registry_region"])
    configured: list[str] = []
    for hit in _CONFIGURED_REGION.finditer(text):
        if len(configured) == _MAX_FINDINGS:
            break
        configured.append(hit["region"])
    if not hosts or not configured or set(hosts) & set(configured):
        return None
    details = {
        "configured_region": ", ".join(dict.fromkeys(configured)),
        "registry_region": ", ".join(dict.fromkeys(hosts)),
    }
    return _make(signature, details, "")


def _make(signature: Signature, details: dict[str, str], line: str) -> Match:
    shown = {name: code(value) for name, value in details.items()}
    if signature.id == "ecr_action_denied":
        statement = least_privilege(details.get("resource"))
        # Equivalent mutants: details are cut to MAX_DETAIL (200) characters, so the statement
        # stays far under this limit; it bounds the text should that cut ever grow.
        shown["statement"] = code(statement, limit=1_000)  # pragma: no mutate
    values = {**signature.defaults, **shown}
    return Match(
        signature.id,
        signature.title,
        Template(signature.explanation).safe_substitute(values),
        Template(signature.fix).safe_substitute(values),
        tuple(details.items()),
        plain(line.strip()),
    )

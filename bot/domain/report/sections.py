"""The report's sections, each a small pure function over one snapshot."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import cve_sla
from bot.domain.report.model import (
    SEVERITIES,
    TITLES,
    Catalog,
    ImageInfo,
    Item,
    Level,
    RegistrySnapshot,
    RepositoryInfo,
    Risk,
    Section,
    SectionId,
    human_size,
    plural,
)

WEEK = timedelta(days=7)
STALE = timedelta(days=90)
QUOTA_SHARE = 0.8
CRITICAL_FIX_DAYS = cve_sla.FIX_DAYS  # the CVE SLA, shared with the promotion scan gate
# Only untagged images expire: a count rule could delete a tag something still runs.
LIFECYCLE_RULE = {
    "rulePriority": 1, "description": "Expire untagged images 14 days after push",
    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                  "countNumber": 14},
    "action": {"type": "expire"},
}  # fmt: skip
LIFECYCLE_POLICY = json.dumps({"rules": [LIFECYCLE_RULE]}, indent=2)
SCANNED = ("COMPLETE", "ACTIVE")  # scan states that carry findings (ACTIVE: enhanced scanning)
KMS = ("KMS", "KMS_DSSE")
# control -> (what is wrong, the `aws ecr` command and arguments that fix it)
CONTROLS = {
    "scan on push": ("is not scanned on push, nor by registry scanning",
                     "put-image-scanning-configuration",
                     "--image-scanning-configuration scanOnPush=true"),
    "lifecycle policy": ("has no lifecycle policy", "put-lifecycle-policy",
                         "--lifecycle-policy-text file://policy.json"),
    "tag immutability": ("has mutable tags", "put-image-tag-mutability",
                         "--image-tag-mutability IMMUTABLE"),
    # Encryption is fixed when a repository is created: the fix is a new repository.
    "kms encryption": ("is not encrypted with KMS, which can only be set at creation",
                       "create-repository", "--encryption-configuration encryptionType=KMS "
                       "--image-tag-mutability IMMUTABLE"),
}  # fmt: skip


def ecr(command: str, repo: str, region: str, args: str = "") -> str:
    """A pasteable `aws ecr` command for one repository."""
    extra = f"{args} " if args else ""
    return f"aws ecr {command} --repository-name {repo} {extra}--region {region}"


@dataclass
class _Items:
    """Collects one section's items, filling in each repository's owner and a stable key."""

    section: SectionId
    catalog: Catalog
    items: list[Item] = field(default_factory=list)

    def add(
        self,
        repo: str,
        what: str,
        level: Level,
        text: str,
        fix: str = "",
        due: datetime | None = None,
        overdue: bool = False,
    ) -> Item:
        key = f"{self.section.value}: {repo}: {what}"
        owner = self.catalog.owners.get(repo)
        item = Item(self.section, key, repo, owner, level, text, fix, due, overdue)
        self.items.append(item)
        return item

    def done(self, found: str, clean: str, notes: tuple[str, ...] = ()) -> Section:
        """The section, its items in order; `found` sums them up, `clean` says there are none."""
        summary = found if self.items else clean
        # Overdue first, then by level, then the earliest deadline (the longest overdue leads).
        ordered = sorted(
            self.items,
            key=lambda i: (
                not i.overdue,
                i.level.rank,
                i.due.timestamp() if i.due else float("inf"),
                i.repository,
                i.key,
            ),
        )
        return Section(self.section, TITLES[self.section], summary, tuple(ordered), notes=notes)

    @property
    def repositories(self) -> int:
        return len({i.repository for i in self.items})


def newest(repo: RepositoryInfo) -> ImageInfo | None:
    """The repository's most recently pushed image (the one the report judges)."""
    return max(repo.images, key=lambda i: (i.pushed_at, i.digest), default=None)


def compliance(snap: RegistrySnapshot, catalog: Catalog) -> Section:
    """Each repository against the controls its risk tier requires."""
    out = _Items(SectionId.COMPLIANCE, catalog)
    for repo in snap.repositories:
        tier = catalog.tiers.get(repo.name)
        high = tier == "high"
        missing = {
            "scan on push": not (repo.scan_on_push or snap.registry_scanning),
            "lifecycle policy": not repo.lifecycle_policy,
            # Exclusions may leave some tags mutable: what counts is that SHA tags are not.
            "tag immutability": high and repo.mutability.sha_tags(7) != "all",
            "kms encryption": high and repo.encryption not in KMS,
        }
        why = f"required for {tier} risk" if tier else "no risk tier: judged as low"
        level = Level.HIGH if high else Level.MEDIUM
        for control in (c for c, miss in missing.items() if miss):
            wrong, command, args = CONTROLS[control]
            kms = control == "kms encryption"
            fix = ecr(command, f"{repo.name}-kms" if kms else repo.name, snap.region, args)
            fix += "  # then move images and pushers over" if kms else ""
            out.add(repo.name, control, level, f"{repo.name} {wrong} ({why}).", fix)
    total = len(snap.repositories)
    notes = []
    if any(i.key.endswith(": lifecycle policy") for i in out.items):
        notes.append("Default lifecycle policy (policy.json):\n" + LIFECYCLE_POLICY)
    if any(r.name not in catalog.tiers for r in snap.repositories):
        notes.append("Repositories with no `risk:` in the catalog are judged as low risk.")
    return out.done(
        f"{out.repositories} of {total} repositories miss a control their risk tier requires.",
        f"Every repository ({total}) has the controls its risk tier requires.",
        tuple(notes),
    )


def vulnerabilities(snap: RegistrySnapshot, catalog: Catalog, now: datetime) -> Section:
    """Critical and high findings on each repository's newest image, overdue fixes first."""
    out = _Items(SectionId.VULNERABILITIES, catalog)
    for repo in snap.repositories:
        if image := newest(repo):
            _image_findings(out, snap.region, repo, image, catalog.tiers.get(repo.name), now)
    level = Counter(i.level for i in out.items)
    overdue = sum(i.overdue for i in out.items)
    summary = (
        f"{level[Level.CRITICAL]} critical ({overdue} overdue) and {level[Level.HIGH]} high "
        "findings on the newest images."
    )
    unscanned = level[Level.MEDIUM] + level[Level.LOW]  # scans missing, failed or pending
    if unscanned or level[Level.INFO]:
        summary += (
            f" Unknown, not clean: {unscanned} not scanned, {level[Level.INFO]} not scannable."
        )
    return out.done(summary, summary)


def _image_findings(
    out: _Items,
    region: str,
    repo: RepositoryInfo,
    image: ImageInfo,
    tier: Risk | None,
    now: datetime,
) -> None:
    ref = f"{repo.name}:{image.tags[0]}" if image.tags else f"{repo.name}@{image.digest[:19]}"
    if image.scan_status not in SCANNED:
        what, level, text = _unscanned(image.scan_status, ref)
        fix = ecr("start-image-scan", repo.name, region, f"--image-id imageDigest={image.digest}")
        if level is Level.INFO:
            fix = "Scan its contents in CI, or build it on a scannable base image."
        out.add(repo.name, what, level, text, fix)
        return
    basis = cve_sla.basis(tier)
    app = next(iter(out.catalog.apps.get(repo.name, ())), "<app>")
    fix = f"Move to a patched base image in a new commit, then: /ecr push {app} <sha>"
    for cve, severity in sorted(worst_findings(image).items()):
        if severity == "HIGH":
            out.add(repo.name, cve, Level.HIGH, f"{cve} (high) on {ref}.", fix)
        elif severity == "CRITICAL":
            since = image.finding_since.get(cve)
            due = cve_sla.due(since, image.pushed_at, tier)
            overdue = now > due
            when = f"overdue by {(now - due).days} days" if overdue else f"fix by {due.date()}"
            first = "" if since else ", counted from the push"
            text = f"{cve} (critical) on {ref}: {when} ({basis}{first})."
            out.add(repo.name, cve, Level.CRITICAL, text, fix, due=due, overdue=overdue)


def worst_findings(image: ImageInfo) -> dict[str, str]:
    """Each finding's worst severity on the image (a CVE in several packages counts once)."""
    worst: dict[str, str] = {}
    for f in image.findings:
        severity = f.severity if f.severity in SEVERITIES else "UNDEFINED"  # e.g. UNTRIAGED
        if f.name not in worst or SEVERITIES.index(severity) < SEVERITIES.index(worst[f.name]):
            worst[f.name] = severity
    return worst


def _unscanned(status: str | None, ref: str) -> tuple[str, Level, str]:
    if status == "UNSUPPORTED_IMAGE":
        text = f"{ref} is not scannable (e.g. FROM scratch): vulnerabilities unknown, not clean."
        return "not scannable", Level.INFO, text
    if status is None:
        return "not scanned", Level.MEDIUM, f"{ref} has never been scanned: findings unknown."
    if status == "IMAGE_ARCHIVED":
        text = f"{ref} is archived: ECR does not scan it while it is, findings unknown."
        return "archived", Level.INFO, text
    if status == "FAILED":
        return "scan failed", Level.MEDIUM, f"The scan of {ref} failed: findings unknown."
    return f"scan {status.lower()}", Level.LOW, f"The scan of {ref} is {status}: findings unknown."


def hygiene(snap: RegistrySnapshot, catalog: Catalog, now: datetime) -> Section:
    """Untagged images, stale repositories, mutable `latest` tags, repositories near the quota."""
    out = _Items(SectionId.HYGIENE, catalog)
    for repo in snap.repositories:
        name, region = repo.name, snap.region
        policy = ecr("put-lifecycle-policy", name, region, CONTROLS["lifecycle policy"][2])
        untagged = [i for i in repo.images if not i.tags]
        if untagged:
            size, read = human_size(sum(i.size_bytes for i in untagged)), len(repo.images)
            more = (
                f" (of {read} read; {repo.image_count} in all)" if repo.image_count > read else ""
            )
            text = f"{name} has {plural(len(untagged), 'untagged image')} ({size}){more}."
            digests = " ".join(f"imageDigest={i.digest}" for i in untagged[:100])  # API max 100
            fix = ecr("batch-delete-image", name, region, f"--image-ids {digests}")
            out.add(
                name, "untagged images", Level.LOW, text, fix if repo.lifecycle_policy else policy
            )
        image = newest(repo)
        idle = (now - (image.pushed_at if image else repo.created_at)).days
        if idle > STALE.days:
            text = f"{name} has had no push for {idle} days" if image else f"{name} is empty"
            text += "; delete it if nothing deploys it any more."
            fix = ecr("delete-repository", name, region)
            out.add(name, "no push" if image else "empty", Level.LOW, text, fix)
        archived = [i for i in repo.images if i.status != "ACTIVE"]
        if archived:
            tags = ", ".join(t for i in archived[:5] for t in i.tags[:1]) or "untagged"
            text = (
                f"{name}: {plural(len(archived), 'image')} of {len(repo.images)} archived "
                f"(can't be pulled; a push of the same image restores it): {tags}."
            )
            out.add(name, "archived images", Level.INFO, text)
        if not repo.mutability.immutable("latest") and any("latest" in i.tags for i in repo.images):
            text = f"{name} has a mutable `latest` tag: what it names can change under a deploy."
            untag = ecr("batch-delete-image", name, region, "--image-ids imageTag=latest")
            lock = ecr("put-image-tag-mutability", name, region, "--image-tag-mutability IMMUTABLE")
            out.add(name, "mutable latest", Level.LOW, text, f"{untag}\n{lock}")
        share = repo.image_count / snap.image_quota if snap.image_quota else 0.0
        if share >= QUOTA_SHARE:
            text = f"{name} holds {repo.image_count} images, {share:.0%} of its image quota."
            level = Level.HIGH if share >= 0.95 else Level.MEDIUM
            out.add(
                name, "image quota", level, text, _quota(snap) if repo.lifecycle_policy else policy
            )
    # Rules that archive, or that count pulls or time in archive, change what "stale" means.
    notes = tuple(
        f"{repo.name} lifecycle: " + "; ".join(r.describe() for r in repo.lifecycle_rules)
        for repo in snap.repositories
        if repo.lifecycle_rules
    )
    return out.done(
        f"{plural(len(out.items), 'item')} in {plural(out.repositories, 'repository')}.",
        "No untagged images, idle repositories, mutable `latest` or near-quota repositories.",
        notes[:20],
    )


def _quota(snap: RegistrySnapshot) -> str:
    # Quota codes differ by service: look it up by name rather than hard-code one.
    code = (
        "$(aws service-quotas list-service-quotas --service-code ecr --query "
        "\"Quotas[?QuotaName=='Images per repository'].QuotaCode\" --output text)"
    )
    return (
        f"aws service-quotas request-service-quota-increase --service-code ecr --quota-code {code} "
        f"--desired-value {snap.image_quota * 2} --region {snap.region}"
    )


def access(snap: RegistrySnapshot, catalog: Catalog) -> Section:
    """The IAM findings diagnose's evaluators made: wildcard trust, keys that can push."""
    out = _Items(SectionId.ACCESS, catalog)
    for f in snap.access:
        if ":user/" in f.principal:
            user = f.principal.rsplit("/", 1)[-1]
            fix = (
                f"aws iam list-access-keys --user-name {user}\n"
                f"aws iam update-access-key --user-name {user} --access-key-id KEY_ID "
                "--status Inactive  # then push from CI through GitHub OIDC"
            )
        else:
            fix = "`ecrbot diagnose <app>` for an app using this role prints the corrected policy."
        level = Level.HIGH if f.severity == "fail" else Level.MEDIUM
        out.add(f.principal, f.message, level, f.message, fix)
    return out.done(
        f"{plural(len(out.items), 'finding')} on {plural(out.repositories, 'principal')}.",
        "No wildcard trust, trust without sub/aud, or access keys that can push.",
    )


def drift(snap: RegistrySnapshot, catalog: Catalog, registry: str | None = None) -> Section:
    """Catalog apps whose repository does not exist, and repositories no app claims. In another
    registry (`registry`, issue #16) the catalog is its environments' repositories: a missing
    one fails the app's promotion there (diagnose's `release.targets` says the same)."""
    out = _Items(SectionId.DRIFT, catalog)
    names = {r.name for r in snap.repositories}
    where = f"account {snap.account_id}, {snap.region}" if registry else snap.region
    for e in snap.catalog:
        if e.repository not in names:
            text = f"App {e.app} pushes to {e.repository}, which does not exist in {where}."
            args = "--image-scanning-configuration scanOnPush=true --image-tag-mutability IMMUTABLE"
            fix = ecr("create-repository", e.repository, snap.region, args)
            fix = f"In account {snap.account_id}: {fix}" if registry else fix
            out.add(e.repository, f"missing for {e.app}", Level.MEDIUM, text, fix)
    for repo in snap.repositories:
        if repo.name not in catalog.apps:
            text = f"{repo.name} has no catalog entry: nobody owns it."
            fix = f"Add an app with `repository: {repo.name}` to ecrbot.yml, or delete the repo."
            if registry:
                fix = (
                    f"Give an app an environment with `registry: {registry}` and "
                    f"`repository: {repo.name}` in ecrbot.yml, or delete the repo."
                )
            out.add(repo.name, "not in catalog", Level.LOW, text, fix)
    return out.done(
        f"{plural(len(out.items), 'difference')}.", "The catalog and the registry agree."
    )


def pipeline(snap: RegistrySnapshot, catalog: Catalog, now: datetime) -> Section:
    """This week's jobs per app: pushes, failure rate, median duration, usual slowest step."""
    out = _Items(SectionId.PIPELINE, catalog)
    week = [j for j in snap.jobs if j.finished_at and now - WEEK <= j.finished_at <= now]
    for app in sorted({j.app for j in week}):
        jobs = [j for j in week if j.app == app]
        ok, failed, rate = _tally([j.state for j in jobs])
        # Only runs that went the distance: a cancelled job's duration says little.
        ran = [j for j in jobs if j.state in ("succeeded", "failed")]
        durations = [j.duration_s for j in ran if j.duration_s is not None]
        median = f"median {statistics.median(durations):.0f} s" if durations else "no durations"
        steps = Counter(j.slowest_step for j in jobs if j.slowest_step)
        slowest = (
            f", slowest step mostly {min(steps, key=lambda s: (-steps[s], s))}" if steps else ""
        )
        noisy = failed >= 2 and rate >= 0.5  # a pattern, not one bad push
        text = (
            f"{app}: {plural(ok, 'push')}, {failed} failed of {ok + failed} ({rate:.0%}), "
            f"{median}{slowest}."
        )
        repo, fix = catalog.repository_of.get(app, app), f"/ecr diagnose {app}" if noisy else ""
        out.add(repo, f"jobs of {app}", Level.MEDIUM if noisy else Level.INFO, text, fix)
    ok, failed, rate = _tally([j.state for j in week])
    return out.done(
        f"{plural(len(week), 'job')} this week: {ok} pushed, {failed} failed ({rate:.0%}).",
        "No jobs finished this week.",
    )


def _tally(states: list[str]) -> tuple[int, int, float]:
    # Cancelled and interrupted jobs say nothing about the app, so they stay out of the rate.
    ok, failed = states.count("succeeded"), states.count("failed")
    return ok, failed, failed / (ok + failed) if ok + failed else 0.0

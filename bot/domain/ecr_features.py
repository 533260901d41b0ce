"""ECR features moto does not serve, as values: creation templates (create-on-push), managed
signing, archived images and the lifecycle rules that archive them.

Sources (read 2026-12-06):
- Repository creation templates, https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html
  and ".../repository-creation-templates-create.html": a template applies to repositories
  whose name begins with `prefix/` ("there is always an assumed / applied to the end of the
  prefix"); `ROOT` applies to every repository no other template matches; `appliedFor`
  includes CREATE_ON_PUSH; the creating principal needs ecr:CreateRepository, and
  ecr:PutLifecyclePolicy / ecr:SetRepositoryPolicy only when the template has a lifecycle /
  repository policy; tags given at creation are authorized as ecr:TagResource too
  (".../ecr-supported-iam-actions-tagging.html").
- Managed signing, https://docs.aws.amazon.com/AmazonECR/latest/userguide/managed-signing.html
  and API GetSigningConfiguration / DescribeImageSigningStatus: rules of a signing profile and
  optional WILDCARD_MATCH repository filters (none: every repository); images are signed
  "using the identity of the entity pushing the image", so the pusher needs
  signer:SignPayload on the profile; a status per profile: IN_PROGRESS, COMPLETE, FAILED.
- Archiving, https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html:
  archived images can't be pulled ("fail with a 404"), are still described and listed with
  status ARCHIVED (DescribeImages' `filter.imageStatus`, whose default is ACTIVE), and are
  restored "by re-pushing the image".
- Lifecycle policy properties, https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html:
  `action.type` expire | transition (`targetStorageClass: archive`), `selection.countType`
  imageCountMoreThan | sinceImagePushed | sinceImagePulled | sinceImageTransitioned,
  `selection.storageClass` standard | archive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot.domain.tag_mutability import TagMutability, wildcard_matches
from bot.domain.text import code, plain

# How long the registry adapter waits for managed signing to leave IN_PROGRESS after a push.
SIGNING_WAIT_S = 10.0
MAX_RULES = 50  # a lifecycle policy holds at most 50 rules (ECR quota); more is not ECR's


@dataclass(frozen=True)
class CreationTemplate:
    """A repository creation template, as far as a push it would create a repository for cares."""

    prefix: str
    applied_for: tuple[str, ...]
    mutability: TagMutability = field(default_factory=TagMutability)
    encryption: str = "AES256"
    kms_key: str | None = None
    lifecycle_policy: bool = False
    repository_policy: bool = False
    resource_tags: tuple[str, ...] = ()
    custom_role: str | None = None

    @property
    def creates_on_push(self) -> bool:
        return "CREATE_ON_PUSH" in self.applied_for

    def applies_to(self, repository: str) -> bool:
        """Whether the template's prefix covers `repository` (ROOT covers every one)."""
        return self.prefix == "ROOT" or repository.startswith(self.prefix.rstrip("/") + "/")

    def needs(self) -> tuple[str, ...]:
        """The IAM actions the pusher's identity needs for ECR to create the repository."""
        actions = ["ecr:CreateRepository"]
        if self.lifecycle_policy:
            actions.append("ecr:PutLifecyclePolicy")
        if self.repository_policy:
            actions.append("ecr:SetRepositoryPolicy")
        if self.resource_tags:
            actions.append("ecr:TagResource")
        return tuple(actions)

    def settings(self) -> str:
        """What the created repository gets, in words."""
        encryption = self.encryption + (f" ({self.kms_key})" if self.kms_key else "")
        parts = [
            f"tags {self.mutability.describe()}",
            f"encryption {encryption}",
            "a lifecycle policy" if self.lifecycle_policy else "no lifecycle policy",
        ]
        if self.repository_policy:
            parts.append("a repository policy")
        return ", ".join(parts)


def template_for(
    repository: str, templates: tuple[CreationTemplate, ...]
) -> CreationTemplate | None:
    """The template ECR applies to `repository`: the longest matching prefix, ROOT last."""
    named = [t for t in templates if t.prefix != "ROOT" and t.applies_to(repository)]
    if named:
        return max(named, key=lambda t: len(t.prefix))
    return next((t for t in templates if t.prefix == "ROOT"), None)


@dataclass(frozen=True)
class SigningRule:
    """One rule of the registry's signing configuration."""

    profile_arn: str
    repository_filters: tuple[str, ...] = ()  # WILDCARD_MATCH filters; none: every repository

    def signs(self, repository: str) -> bool:
        if not self.repository_filters:
            return True
        return any(wildcard_matches(f, repository) for f in self.repository_filters)


def signing_profiles(repository: str, rules: tuple[SigningRule, ...]) -> tuple[str, ...]:
    """The signing profiles ECR signs `repository`'s pushes with, in rule order."""
    return tuple(dict.fromkeys(r.profile_arn for r in rules if r.signs(repository)))


@dataclass(frozen=True)
class SigningStatus:
    """DescribeImageSigningStatus for one profile."""

    profile_arn: str
    status: str  # IN_PROGRESS | COMPLETE | FAILED
    failure: str = ""


def describe_signing(statuses: tuple[SigningStatus, ...] | None, waited_s: float) -> str:
    """The signing outcome in one sentence for a push's thread ('' when nothing signs it)."""
    if statuses is None:
        return ""
    if not statuses:
        return "Not signed: no managed signing rule covers this repository."
    parts = []
    for s in statuses:  # AWS's words enter as code spans or plain text, never as markup
        profile = code(s.profile_arn.rsplit("/", 1)[-1], 80)
        if s.status == "COMPLETE":
            parts.append(f"signed with profile {profile}")
        elif s.status == "FAILED":
            parts.append(
                f"signing with profile {profile} FAILED "
                f"({plain(s.failure or 'no reason given', 300)}): "
                f"the pusher needs signer:SignPayload on {code(s.profile_arn, 200)}"
            )
        else:
            parts.append(f"signing with profile {profile} still in progress after {waited_s:.0f} s")
    return "Managed signing: " + "; ".join(parts) + "."


@dataclass(frozen=True)
class LifecycleRule:
    """One lifecycle rule, read for the report's hygiene section."""

    priority: int
    action: str  # expire | transition
    count_type: str
    count: int
    unit: str = ""
    tag_status: str = "any"
    patterns: tuple[str, ...] = ()
    storage_class: str = "standard"  # which images it selects: standard or archive

    def describe(self) -> str:
        """`rule 2 archives tagged (release-*) images not pulled for 90 days`."""
        verb = "archives" if self.action == "transition" else "expires"
        stored = " archived" if self.storage_class == "archive" else ""
        which = self.tag_status + (f" ({', '.join(self.patterns)})" if self.patterns else "")
        when = {
            "imageCountMoreThan": f"beyond the newest {self.count}",
            "sinceImagePushed": f"{self.count} {self.unit} after push",
            "sinceImagePulled": f"not pulled for {self.count} {self.unit}",
            "sinceImageTransitioned": f"{self.count} {self.unit} after they were archived",
        }.get(self.count_type, f"{self.count_type} {self.count}")
        return f"rule {self.priority} {verb} {which}{stored} images {when}"


def lifecycle_rules(text: str) -> tuple[LifecycleRule, ...]:
    """The rules of a lifecycle policy's JSON text; raises ValueError when it is not one."""
    document = json.loads(text)
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list):
        raise ValueError("a lifecycle policy has a `rules` list")
    out = []
    for rule in rules[:MAX_RULES]:
        selection = rule.get("selection") or {}
        action = rule.get("action") or {}
        patterns = selection.get("tagPatternList") or selection.get("tagPrefixList") or ()
        out.append(
            LifecycleRule(
                priority=int(rule.get("rulePriority", 0)),
                action=str(action.get("type", "expire")),
                count_type=str(selection.get("countType", "")),
                count=int(selection.get("countNumber", 0)),
                unit=str(selection.get("countUnit", "")),
                tag_status=str(selection.get("tagStatus", "any")),
                patterns=tuple(str(p) for p in patterns)[:10],
                storage_class=str(selection.get("storageClass", "standard")),
            )
        )
    return tuple(sorted(out, key=lambda r: r.priority))

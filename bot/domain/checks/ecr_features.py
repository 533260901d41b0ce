"""What ECR does on a push beyond storing it (read 2026-12-06, sources in
`bot/domain/ecr_features.py`): create the repository from a CREATE_ON_PUSH template, and sign
the image as the pusher (managed signing). Each needs the pushing role's permission."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.domain.checks.common import could_not, repository_arn, skipped
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.privilege import account_of, role_request
from bot.domain.checks.registry import app_check
from bot.domain.ecr_features import CreationTemplate, signing_profiles, template_for
from bot.domain.iam.evaluation import Decision, decide

SIGN = "signer:SignPayload"


def pending_template(facts: AppFacts) -> CreationTemplate | None:
    """The CREATE_ON_PUSH template that creates the app's missing repository on its push."""
    if not (facts.repository.ok and facts.repository.value is None):
        return None
    if not facts.creation_templates.ok:
        return None
    template = template_for(facts.repository_name, facts.creation_templates.value or ())
    return template if template is not None and template.creates_on_push else None


@app_check(
    "privilege.create_on_push",
    "when a `CREATE_ON_PUSH` creation template will create the missing repository: the role may "
    "do what that needs (`ecr:CreateRepository`, and `ecr:PutLifecyclePolicy`, "
    "`ecr:SetRepositoryPolicy`, `ecr:TagResource` when the template sets them)",
)
def create_on_push(facts: AppFacts) -> list[CheckResult]:
    """privilege.create_on_push: may the role do what ECR does for it when it creates the repo."""
    template = pending_template(facts)
    if template is None:
        return []
    arn = repository_arn(facts.region, facts.account_id, facts.repository_name)
    decided = _decisions(facts, template.needs(), arn, facts.account_id)
    if decided is None:
        return []  # no role in the catalog (or trust.role says why)
    fix = _policy(arn, template.needs())
    return [_verdict("privilege.create_on_push", decided, arn, f"create {arn}", fix)]


@app_check(
    "privilege.signing",
    "when managed signing covers the repository: the role may `signer:SignPayload` on each "
    "signing profile (ECR signs as the pusher); skipped where the endpoint serves no signing",
)
def signing(facts: AppFacts) -> list[CheckResult]:
    """privilege.signing: ECR signs as the pusher, so the role needs signer:SignPayload."""
    if not facts.signing_rules.ok:
        return [could_not("privilege.signing", facts.signing_rules)]
    rules = facts.signing_rules.value
    if rules is None:
        return [
            skipped(
                "privilege.signing",
                "This ECR endpoint serves no managed signing (GetSigningConfiguration): not "
                "checked.",
            )
        ]
    profiles = signing_profiles(facts.repository_name, rules)
    if not profiles:
        return []  # nothing signs this repository's images
    results = []
    for profile in profiles:
        decided = _decisions(facts, (SIGN,), profile, account_of(profile) or facts.account_id)
        if decided is None:
            return []
        fix = json.dumps(
            {"Effect": "Allow", "Action": SIGN, "Resource": profile}, indent=2
        )  # managed-signing.html's example statement
        results.append(_verdict("privilege.signing", decided, profile, f"sign with {profile}", fix))
    return results


def _decisions(
    facts: AppFacts, actions: tuple[str, ...], resource: str, account: str
) -> dict[str, Decision] | None:
    request = role_request(facts)
    if request is None:
        return None
    principal, documents, _ = request
    if not resource.startswith("arn:aws:ecr:"):
        documents = replace(documents, repository=None)  # the repository policy is ECR's only
    return {a: decide(principal, documents, a, resource, account) for a in actions}


def _verdict(
    check_id: str, decided: dict[str, Decision], resource: str, what: str, fix: str
) -> CheckResult:
    denied = [d.action for d in decided.values() if d.allowed is False]
    unknown = [d.action for d in decided.values() if d.allowed is None]
    needs = ", ".join(decided)
    if denied:
        why = "; ".join(f"{d.action}: {d.decided_by}" for d in decided.values() if not d.allowed)
        return CheckResult(
            check_id,
            Status.FAIL,
            f"The push would fail to {what}: the role is denied {', '.join(denied)} ({why}).",
            f"Allow {needs} for the role:\n{fix}",
            resource,
        )
    if unknown:
        return CheckResult(
            check_id,
            Status.WARN,
            f"Could not tell whether the role may {', '.join(unknown)} (a document that "
            "decides is in an account ecrbot can't read).",
            f"Make sure the role may {needs}.",
            resource,
        )
    return CheckResult(
        check_id, Status.PASS, f"The role may {needs}, so a push can {what}.", resource=resource
    )


def _policy(arn: str, actions: tuple[str, ...]) -> str:
    return json.dumps({"Effect": "Allow", "Action": list(actions), "Resource": arn}, indent=2)

"""AWS access: the OIDC provider, the subjects jobs present, and the role's trust policy.

What the role may do once assumed (and IAM users with keys) is in `privilege.py`.
"""

from __future__ import annotations

from bot.domain.checks.common import could_not, provider_arn, skipped
from bot.domain.checks.model import AppFacts, CheckResult, Status
from bot.domain.checks.trust import trust_policy as trust_policy  # re-exported for checks
from bot.domain.workflow.subject_forms import NAME_ONLY, form_of

AUDIENCE = "sts.amazonaws.com"
GITHUB = "token.actions.githubusercontent.com"


def oidc_provider(facts: AppFacts) -> list[CheckResult]:
    arn = provider_arn(facts.account_id)
    if not facts.provider.ok:
        return [could_not("oidc.provider", facts.provider, arn)]
    provider = facts.provider.value
    if provider is None:
        return [
            CheckResult(
                "oidc.provider",
                Status.FAIL,
                f"Account {facts.account_id} has no OIDC provider for {GITHUB}.",
                f"aws iam create-open-id-connect-provider --url https://{GITHUB} "
                f"--client-id-list {AUDIENCE}",
                arn,
            )
        ]
    if AUDIENCE not in provider.audiences:
        return [
            CheckResult(
                "oidc.provider",
                Status.FAIL,
                f"{provider.arn} does not list the audience {AUDIENCE} "
                f"(it lists {', '.join(provider.audiences) or 'none'}).",
                f"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "
                f"{provider.arn} --client-id {AUDIENCE}",
                provider.arn,
            )
        ]
    return [
        CheckResult(
            "oidc.provider",
            Status.PASS,
            f"{provider.arn} exists and lists {AUDIENCE}.",
            resource=provider.arn,
        )
    ]


def subject_template(facts: AppFacts) -> list[CheckResult]:
    """oidc.subject: which claims make up the jobs' `sub`, and how ecrbot knows."""
    if not facts.github:
        return []
    template = facts.subject_template
    keys = ", ".join(template.keys)
    where = facts.github
    if template.problem:
        return [
            CheckResult(
                "oidc.subject",
                Status.WARN,
                f"The subject template of {where} could not be read ({template.problem}): "
                f"{template.source} ({keys}) is used.",
                "Give ecrbot a GITHUB_TOKEN that may read the repository's Actions OIDC "
                "settings, or set `oidc_subject_keys` on the app in the catalog.",
                where,
            )
        ]
    if template.assumed:
        return [
            skipped(
                "oidc.subject",
                f"Jobs are assumed to present GitHub's default subject ({keys}): ecrbot has no "
                "GITHUB_TOKEN to read the repository's template, and the catalog sets no "
                "`oidc_subject_keys` for the app. Nor does it know which form its `repo:` part "
                "takes (name-only, or immutable with the owner's and repository's IDs), so "
                "trust.subject tries both.",
                where,
            )
        ]
    prefix = ""
    if template.prefix:
        form = form_of(template.prefix)
        prefix = f"; GitHub's `sub_claim_prefix` is {template.prefix} (the {form} form)"
        if template.use_immutable_subject is (form == NAME_ONLY):
            # Seen in the wild (Azure/azure-dev#9382): runs present the prefix, not the flag.
            prefix += (
                f", although it answers use_immutable_subject: "
                f"{str(template.use_immutable_subject).lower()}; ecrbot follows the prefix, "
                "which is what the runs present"
            )
    return [
        CheckResult(
            "oidc.subject",
            Status.PASS,
            f"Jobs of {where} present `sub` as {keys} ({template.source}){prefix}.",
            resource=where,
        )
    ]

"""Every action id the bot's buttons use, in one place (handlers match on these)."""

from enum import StrEnum


class ActionId(StrEnum):
    RETRY = "ecr_retry"
    CANCEL = "ecr_cancel"
    DIAGNOSE = "ecr_run_diagnose"  # value: the app
    DIAGNOSE_PICK = "ecr_pick_diagnose"  # a select of apps, where a message named several
    HOME_PUSH = "ecr_home_push"  # App Home: open the push modal
    HOME_DIAGNOSE = "ecr_home_diagnose"  # App Home: open the diagnose modal
    HOME_REPORT = "ecr_home_report"  # App Home: a report preview in the bot's DM
    HOME_PROMOTE = "ecr_home_promote"  # App Home: open the promote modal
    PROMOTE = "ecr_promote"  # value: job id ":" environment (a finished push's message)
    APPROVE = "ecr_approve"  # value: approval id @ digest
    REJECT = "ecr_reject"  # value: approval id @ digest
    PROMOTION_CANCEL = "ecr_promotion_cancel"  # value: the promotion's record id
    PROMOTION_RETRY = "ecr_promotion_retry"  # value: the promotion's record id


class CallbackId(StrEnum):
    """Shortcuts' and modals' callback ids."""

    DIAGNOSE_MESSAGE = "diagnose_message"  # the message shortcut "Diagnose with ecrbot"
    DIAGNOSE_MODAL = "ecr_diagnose_modal"  # pick an app, then diagnose
    PUSH_MODAL = "ecr_push_modal"  # App Home's push form
    PROMOTE_MODAL = "ecr_promote_modal"  # App Home's promote form

"""Every action id the bot's buttons use, in one place (handlers match on these)."""

from enum import StrEnum


class ActionId(StrEnum):
    RETRY = "ecr_retry"
    CANCEL = "ecr_cancel"
    DIAGNOSE = "ecr_run_diagnose"

"""ecrbot: runbook RB-0023 (build, authenticate, tag, push to ECR) behind a Slack slash command."""

__version__ = "0.1.0"

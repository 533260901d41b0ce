"""GitHub Actions workflows: effective permissions, OIDC subjects, the runbook's checks."""

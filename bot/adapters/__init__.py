"""Adapters: the only code that talks to AWS, Docker, git, SQL and Slack."""

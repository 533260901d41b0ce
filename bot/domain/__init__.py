"""The domain core: pipeline, jobs and commands. Knows nothing of Slack, boto3 or docker."""

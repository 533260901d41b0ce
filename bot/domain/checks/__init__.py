"""The runbook's troubleshooting checklist as small pure functions over one snapshot.

The checklist itself (every check, in order) is `checklist`: importing the snapshot's model
(`model`) loads no check, so a diagnose can start its reads before the checks are loaded.
"""

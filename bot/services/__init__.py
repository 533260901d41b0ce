"""Application services: what a command asks for (push jobs, diagnose, reports), over ports."""

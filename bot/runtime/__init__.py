"""The running process: serving, the worker pool, the scheduler, metrics and logs."""

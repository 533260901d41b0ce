"""Suite-wide rules: a test that can't run its real dependency fails; nothing is skipped."""

from __future__ import annotations

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a failed run: CI green with real tests skipped proves nothing."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if reporter is not None and skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_line(f"conftest: {skipped} test(s) skipped: a skip fails the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

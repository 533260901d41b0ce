"""Suite-wide rules: a test that can't run its real dependency fails; nothing is skipped."""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings

# The mutation benchmark's profile (`--hypothesis-profile mutation`, set in pyproject's
# [tool.mutmut]): a mutant is killed by the first failing example, so shrinking it (minutes
# under mutmut's trampolines) buys nothing, and a fixed seed keeps the score repeatable.
settings.register_profile(
    "mutation",
    max_examples=25,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    deadline=None,
    derandomize=True,
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a failed run: CI green with real tests skipped proves nothing."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if reporter is not None and skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_line(f"conftest: {skipped} test(s) skipped: a skip fails the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

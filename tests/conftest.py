"""Shared by every suite: a run that skipped a test fails, unless a partial run was asked for.

A skipped test proved nothing (a server or a program was missing), so a run that passed with
skips would read as "everything works" when not everything was tried. The skip reasons are
summed up in the run's last lines; `TEST_PARTIAL=1` accepts them for one run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Generator

import pytest

PARTIAL = "TEST_PARTIAL"


def partial_run_asked() -> bool:
    """Whether the developer accepted skips for this run (`TEST_PARTIAL=1`)."""
    return os.environ.get(PARTIAL, "") not in ("", "0")


class NothingSkipped:
    """Counts skips by reason, lists them last, and fails a run that had any."""

    def __init__(self) -> None:
        self.reasons: Counter[str] = Counter()

    def _count(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        # An expected failure is reported as skipped too, and it did run.
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.reasons[reason.removeprefix("Skipped: ")] += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._count(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._count(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.reasons and not partial_run_asked() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter
    ) -> Generator[None, None, None]:
        # Outermost wrapper: these lines come after pytest's own summaries, before the counts.
        yield
        if not self.reasons:
            return
        terminalreporter.section("skipped: these tests did not run", sep="=", red=True)
        for reason, count in self.reasons.most_common():
            terminalreporter.line(f"{count:>5} skipped: {reason}")
        if partial_run_asked():
            terminalreporter.line(f"A partial run, as {PARTIAL}=1 asked: the skips do not fail it.")
        else:
            count = self.reasons.total()
            terminalreporter.line(
                f"FAILED: {count} test{'' if count == 1 else 's'} did not run. Provide what is "
                f"named above, or set {PARTIAL}=1 to accept a partial run.",
                red=True,
            )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(NothingSkipped(), "nothing-skipped")

"""A test run that skipped anything fails and says why last, unless a partial run was asked."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest

@pytest.fixture
def server():
    pytest.skip("no server: install one")

def test_needs_a_server(server): ...
def test_also_needs_it(server): ...

@pytest.mark.skipif(True, reason="not on this platform")
def test_elsewhere(): ...

def test_runs(): ...
"""


@pytest.fixture(autouse=True)
def plain_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs load pytest's own plugins and ours only, with no partial run asked."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("TEST_PARTIAL", raising=False)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(SUITE)
    return pytester


def test_a_run_with_skips_fails_and_ends_with_their_reasons(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "tests.conftest")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=3)
    last_lines = "\n".join(result.outlines[-5:])
    assert "2 skipped: no server: install one" in last_lines
    assert "1 skipped: not on this platform" in last_lines
    assert "FAILED: 3 tests did not run" in last_lines
    assert "TEST_PARTIAL=1" in last_lines


def test_a_partial_run_asked_for_passes_and_still_names_the_skips(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_PARTIAL", "1")

    result = suite.runpytest("-p", "tests.conftest")

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*2 skipped: no server: install one", "*partial run*"])


def test_a_run_without_skips_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_runs(): ...

        @pytest.mark.xfail(reason="a known bug", strict=True)
        def test_known_bug(): assert False
        """
    )

    result = pytester.runpytest("-p", "tests.conftest")

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, xfailed=1)
    assert "did not run" not in result.stdout.str()

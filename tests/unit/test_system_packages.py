"""`make test`'s first step installs the system programs its tests drive, or names them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from scripts.system_packages import PACKAGES, SystemPackage, ensure


class Machine:
    """Which programs are installed, and an installer that can be made to fail."""

    def __init__(self, installed: set[str], install_works: bool = True) -> None:
        self.installed = installed
        self.install_works = install_works
        self.asked: list[list[str]] = []

    def package(self, name: str) -> SystemPackage:
        return SystemPackage(name, f"the {name} test", lambda: name in self.installed)

    def install(self, packages: Sequence[SystemPackage]) -> bool:
        self.asked.append([p.name for p in packages])
        if self.install_works:
            self.installed |= {p.name for p in packages}
        return self.install_works


def test_nothing_is_done_when_everything_is_there(capsys: pytest.CaptureFixture[str]) -> None:
    machine = Machine({"nginx", "chromium"})

    code = ensure(
        [machine.package("nginx"), machine.package("chromium")],
        may_install=True,
        install=machine.install,
    )

    assert code == 0
    assert machine.asked == []
    assert capsys.readouterr() == ("", "")


def test_as_root_the_missing_ones_are_installed(capsys: pytest.CaptureFixture[str]) -> None:
    machine = Machine({"nginx"})

    code = ensure(
        [machine.package("nginx"), machine.package("chromium")],
        may_install=True,
        install=machine.install,
    )

    assert code == 0
    assert machine.asked == [["chromium"]]
    assert capsys.readouterr().err == ""


def test_otherwise_one_line_says_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    machine = Machine(set())

    code = ensure(
        [machine.package("nginx"), machine.package("chromium")],
        may_install=False,
        install=machine.install,
    )

    assert code == 1
    assert machine.asked == []
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "nginx for the nginx test; chromium for the chromium test" in error
    assert "apt-get install nginx chromium" in error
    assert "TEST_PARTIAL=1" in error


def test_a_failed_install_stops_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    machine = Machine(set(), install_works=False)

    code = ensure([machine.package("nginx")], may_install=True, install=machine.install)

    assert code == 1
    assert "apt-get install nginx" in capsys.readouterr().err


def test_a_partial_run_goes_on_without_them(capsys: pytest.CaptureFixture[str]) -> None:
    machine = Machine(set())

    code = ensure(
        [machine.package("nginx")], may_install=False, install=machine.install, partial=True
    )

    assert code == 0
    assert "without nginx for the nginx test" in capsys.readouterr().out


def test_the_programs_the_tests_drive_are_all_listed() -> None:
    assert {p.name for p in PACKAGES} == {"nginx", "chromium", "redis-server", "postgresql"}

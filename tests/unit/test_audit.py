"""`make audit` counts a package as checked only when vulnerability data for its pin was read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scripts.audit import (
    LatestRelease,
    LockAudit,
    Vulnerability,
    assess,
    latest_release_from_json,
    verdict,
)

LOCK = "requirements/runtime.txt"


def checked_by_pip_audit(name: str, version: str, *vulns: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "vulns": [{"id": v, "fix_versions": ["9.9"], "aliases": []} for v in vulns],
    }


def skipped(name: str) -> dict[str, Any]:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name}"}


def releases(**latest: LatestRelease) -> Callable[[str], LatestRelease | None]:
    """The project-level data, by name, of the projects that have some."""
    return latest.get


def test_what_pip_audit_checked_counts_with_its_vulnerabilities() -> None:
    report = {"dependencies": [checked_by_pip_audit("jinja2", "3.1.5", "GHSA-1")]}

    audit = assess(LOCK, {"jinja2": "3.1.5"}, report, releases())

    assert audit.checked_by_pip_audit == ["jinja2"]
    assert audit.vulnerable == ["jinja2 3.1.5: GHSA-1 (fixed in 9.9)"]


def test_a_skipped_pin_that_is_the_latest_release_takes_that_releases_vulnerabilities() -> None:
    report = {"dependencies": [skipped("h11"), skipped("idna")]}
    latest = releases(
        h11=LatestRelease("0.16.0", (Vulnerability("PYSEC-2", ("0.17",)),)),
        idna=LatestRelease("3.10"),
    )

    audit = assess(LOCK, {"h11": "0.16.0", "idna": "3.10"}, report, latest)

    assert audit.checked_as_latest == ["h11", "idna"]
    assert audit.not_checked == {}
    assert audit.vulnerable == ["h11 0.16.0: PYSEC-2 (fixed in 0.17)"]


def test_an_older_pin_is_not_checked_and_the_latest_releases_data_is_not_applied() -> None:
    report = {"dependencies": [skipped("pyyaml")]}
    latest = releases(pyyaml=LatestRelease("6.0.4", (Vulnerability("PYSEC-3"),)))

    audit = assess(LOCK, {"pyyaml": "6.0.3"}, report, latest)

    assert audit.checked == 0
    assert audit.not_checked == {"pyyaml": "6.0.3, data only for the latest release 6.0.4"}
    assert audit.vulnerable == []


def test_versions_compare_as_releases_not_as_strings() -> None:
    report = {"dependencies": [skipped("certifi")]}
    latest = releases(certifi=LatestRelease("2026.1.0"))

    audit = assess(LOCK, {"certifi": "2026.01.0"}, report, latest)

    assert audit.checked_as_latest == ["certifi"]


def test_a_package_without_any_data_is_not_checked() -> None:
    report = {"dependencies": [skipped("private-thing")]}

    audit = assess(LOCK, {"private-thing": "1.0"}, report, releases())

    assert audit.not_checked == {"private-thing": "1.0, no vulnerability data could be fetched"}


def test_a_pin_missing_from_pip_audits_report_is_not_checked() -> None:
    report = {"dependencies": [checked_by_pip_audit("idna", "3.10")]}

    audit = assess(LOCK, {"idna": "3.10", "lost": "1.0"}, report, releases())

    assert audit.not_checked == {"lost": "1.0, missing from pip-audit's report"}


def test_names_are_compared_in_their_canonical_form() -> None:
    report = {"dependencies": [skipped("PyYAML")]}

    audit = assess(LOCK, {"pyyaml": "6.0.3"}, report, releases(pyyaml=LatestRelease("6.0.3")))

    assert audit.checked_as_latest == ["pyyaml"]
    assert audit.not_checked == {}


def test_a_known_vulnerability_fails_the_audit() -> None:
    audit = LockAudit(LOCK, checked_by_pip_audit=["h11"], vulnerable=["h11 0.16.0: PYSEC-2"])

    status, lines = verdict([audit], strict=False, ci=False)

    assert status == 1
    assert "VULNERABLE h11 0.16.0: PYSEC-2" in lines
    assert lines[-1] == "audit FAILED: 1 known vulnerabilities"


def test_unchecked_packages_are_counted_and_named_and_never_read_as_a_pass() -> None:
    audit = LockAudit(
        LOCK, checked_as_latest=["idna"], not_checked={"pyyaml": "6.0.3, data only for 6.0.4"}
    )

    status, lines = verdict([audit], strict=False, ci=True)

    assert status == 0
    assert lines[0].startswith(f"{LOCK}: 1 of 2 packages checked")
    assert "1 NOT CHECKED" in lines[0]
    assert "pyyaml (6.0.3, data only for 6.0.4)" in lines[1]
    assert "1 NOT CHECKED" in lines[-1]
    assert "every package checked" not in "\n".join(lines)


def test_strict_fails_on_any_unchecked_package() -> None:
    audit = LockAudit(LOCK, checked_as_latest=["idna"], not_checked={"pyyaml": "why"})

    status, lines = verdict([audit], strict=True, ci=False)

    assert status == 1
    assert lines[-1] == "audit FAILED: 1 packages not checked (--strict)"


def test_on_ci_a_lock_file_of_which_nothing_was_checked_fails() -> None:
    nothing = LockAudit(LOCK, not_checked={"idna": "3.10, no vulnerability data could be fetched"})

    on_ci, ci_lines = verdict([nothing], strict=False, ci=True)
    locally, local_lines = verdict([nothing], strict=False, ci=False)

    assert on_ci == 1
    assert ci_lines[-1] == f"audit FAILED: nothing in {LOCK} could be checked (CI=true)"
    assert locally == 0
    assert "0 of 1 packages checked" in local_lines[0]


def test_everything_checked_and_clean_passes() -> None:
    status, lines = verdict([LockAudit(LOCK, checked_by_pip_audit=["idna"])], strict=True, ci=True)

    assert status == 0
    assert lines[-1] == "audit: every package checked, no known vulnerability"


def test_the_project_json_gives_the_latest_release_and_its_standing_advisories() -> None:
    document = {
        "info": {"version": "2.0"},
        "vulnerabilities": [
            {"id": "GHSA-a", "fixed_in": ["2.1"], "withdrawn": None},
            {"id": "GHSA-b", "fixed_in": None, "withdrawn": "2025-01-01T00:00:00Z"},
            {"id": "GHSA-c"},
        ],
    }

    assert latest_release_from_json(document) == LatestRelease(
        "2.0", (Vulnerability("GHSA-a", ("2.1",)), Vulnerability("GHSA-c"))
    )

"""`make audit`: known vulnerabilities of the hash-pinned lock files, honest about what it checked.

pip-audit asks PyPI's per-version JSON for each pin's known vulnerabilities. Where that does not
answer (a mirror or proxy without it, no route to OSV), pip-audit skips the package and still
says "No known vulnerabilities found". For each package it skipped, this script asks the
project-level JSON instead, whose `vulnerabilities` are those of the project's latest release:
when the pin IS that release they are the pin's, and the package counts as checked. Any other
package is NOT CHECKED and named, with the reason.

Exit status 1 on any known vulnerability; with CI=true also when nothing of a lock file could be
checked; with --strict (AUDIT_FLAGS=--strict) when any package went unchecked. PyPI is found at
AUDIT_PYPI_URL, by default PyPI's own address as packageurl builds its project pages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from packageurl.contrib.purl2url import get_repo_url
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pip_requirements_parser import RequirementsFile

VENV_BIN = Path(sys.executable).parent
PYPI_URL = "AUDIT_PYPI_URL"
TIMEOUT_SECONDS = 15
PARALLEL_REQUESTS = 8


@dataclass(frozen=True)
class Vulnerability:
    id: str
    fixed_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class LatestRelease:
    """What the project-level JSON tells: the latest release and its known vulnerabilities."""

    version: str
    vulnerabilities: tuple[Vulnerability, ...] = ()


@dataclass
class LockAudit:
    """One lock file's outcome: which packages were checked, which not and why, what was found."""

    lock_file: str
    checked_by_pip_audit: list[str] = field(default_factory=list)
    checked_as_latest: list[str] = field(default_factory=list)
    not_checked: dict[str, str] = field(default_factory=dict)
    vulnerable: list[str] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.checked_by_pip_audit) + len(self.checked_as_latest)

    @property
    def total(self) -> int:
        return self.checked + len(self.not_checked)


def same_release(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def assess(
    lock_file: str,
    pins: Mapping[str, str],
    report: Mapping[str, Any],
    latest_release: Callable[[str], LatestRelease | None],
) -> LockAudit:
    """Sort pip-audit's report: checked by it, checked as the project's latest release, or not."""
    audit = LockAudit(lock_file)
    for dependency in report["dependencies"]:
        name = canonicalize_name(dependency["name"])
        pinned = pins.get(name) or dependency.get("version", "?")
        if "skip_reason" not in dependency:
            audit.checked_by_pip_audit.append(name)
            found = [
                Vulnerability(v["id"], tuple(v.get("fix_versions", [])))
                for v in dependency.get("vulns", [])
            ]
        else:
            release = latest_release(name)
            if release is None:
                audit.not_checked[name] = f"{pinned}, no vulnerability data could be fetched"
                continue
            if not same_release(pinned, release.version):
                audit.not_checked[name] = (
                    f"{pinned}, data only for the latest release {release.version}"
                )
                continue
            audit.checked_as_latest.append(name)
            found = list(release.vulnerabilities)
        audit.vulnerable.extend(
            f"{name} {pinned}: {v.id} (fixed in {', '.join(v.fixed_in) or 'no release yet'})"
            for v in found
        )
    reported = {canonicalize_name(dependency["name"]) for dependency in report["dependencies"]}
    for name in sorted(set(pins) - reported):
        audit.not_checked[name] = f"{pins[name]}, missing from pip-audit's report"
    return audit


def verdict(audits: Sequence[LockAudit], *, strict: bool, ci: bool) -> tuple[int, list[str]]:
    """The exit status and the lines that say what was and was not checked."""
    lines: list[str] = []
    failures: list[str] = []
    for audit in audits:
        lines.extend(f"VULNERABLE {line}" for line in audit.vulnerable)
        lines.append(
            f"{audit.lock_file}: {audit.checked} of {audit.total} packages checked "
            f"({len(audit.checked_by_pip_audit)} by pip-audit, {len(audit.checked_as_latest)} "
            f"as their project's latest release), {len(audit.not_checked)} NOT CHECKED, "
            f"{len(audit.vulnerable)} known vulnerabilities"
        )
        if audit.not_checked:
            named = ", ".join(f"{name} ({why})" for name, why in sorted(audit.not_checked.items()))
            lines.extend(
                textwrap.wrap(
                    f"NOT CHECKED: {named}",
                    width=100,
                    initial_indent="  ",
                    subsequent_indent="    ",
                )
            )
        if ci and audit.checked == 0:
            failures.append(f"nothing in {audit.lock_file} could be checked (CI=true)")
    vulnerable = sum(len(audit.vulnerable) for audit in audits)
    unchecked = sum(len(audit.not_checked) for audit in audits)
    if vulnerable:
        failures.insert(0, f"{vulnerable} known vulnerabilities")
    if strict and unchecked:
        failures.append(f"{unchecked} packages not checked (--strict)")
    if failures:
        lines.append(f"audit FAILED: {'; '.join(failures)}")
        return 1, lines
    if unchecked:
        lines.append(
            f"audit: no known vulnerability in the packages checked; {unchecked} NOT CHECKED "
            "(AUDIT_FLAGS=--strict fails on them)"
        )
    else:
        lines.append("audit: every package checked, no known vulnerability")
    return 0, lines


def latest_release_from_json(document: Mapping[str, Any]) -> LatestRelease:
    """Read the project-level JSON; withdrawn advisories do not count."""
    return LatestRelease(
        document["info"]["version"],
        tuple(
            Vulnerability(v["id"], tuple(v.get("fixed_in") or ()))
            for v in document.get("vulnerabilities") or ()
            if not v.get("withdrawn")
        ),
    )


def pypi_url() -> str:
    """AUDIT_PYPI_URL, else PyPI's own scheme and host, as packageurl builds project pages."""
    if configured := os.environ.get(PYPI_URL):
        return configured.rstrip("/")
    page = urlsplit(get_repo_url("pkg:pypi/pip") or "")
    return f"{page.scheme}://{page.netloc}"


def fetch_latest_releases(names: Iterable[str]) -> dict[str, LatestRelease | None]:
    """The project-level JSON of each name, fetched in parallel; None where it did not answer."""
    base = pypi_url()

    def fetch(name: str) -> LatestRelease | None:
        url = f"{base}/pypi/{quote(name)}/json"
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - an https URL of our own making
                return latest_release_from_json(json.load(response))
        except (OSError, ValueError, KeyError):
            return None

    unique = sorted(set(names))
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as executor:
        return dict(zip(unique, executor.map(fetch, unique), strict=True))


def pins_of(lock_file: str) -> dict[str, str]:
    """Each package's pinned version, read with the parser pip-audit itself uses."""
    return {
        canonicalize_name(requirement.name): requirement.get_pinned_version
        for requirement in RequirementsFile.from_file(lock_file).requirements
        if requirement.name and requirement.is_pinned
    }


def pip_audit(lock_file: str) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - our own venv's pip-audit on our lock file
        [
            str(VENV_BIN / "pip-audit"),
            "-r",
            lock_file,
            "--require-hashes",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if not completed.stdout.strip():
        raise SystemExit(f"pip-audit failed on {lock_file}:\n{completed.stderr}")
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lock_files", nargs="+")
    parser.add_argument("--strict", action="store_true", help="fail when a package is not checked")
    arguments = parser.parse_args()
    reports = {lock_file: pip_audit(lock_file) for lock_file in arguments.lock_files}
    skipped = [
        canonicalize_name(dependency["name"])
        for report in reports.values()
        for dependency in report["dependencies"]
        if "skip_reason" in dependency
    ]
    latest = fetch_latest_releases(skipped)
    audits = [
        assess(lock_file, pins_of(lock_file), report, latest.__getitem__)
        for lock_file, report in reports.items()
    ]
    status, lines = verdict(
        audits, strict=arguments.strict, ci=os.environ.get("CI", "").lower() == "true"
    )
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())

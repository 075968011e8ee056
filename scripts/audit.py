"""`make audit`: pip-audit over the hash-pinned lock files, honest about what it could not check.

pip-audit reads each pinned version's vulnerability data from PyPI. Where that data cannot be
fetched (a mirror without PyPI's per-version JSON, no route to OSV), pip-audit skips the package
and still says "No known vulnerabilities found". This wrapper fails on any known vulnerability,
and says in one line how many packages went unchecked; with `--strict` those fail the run too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def audit(lock_file: str) -> tuple[list[str], list[str], int]:
    """Vulnerabilities found, packages skipped, and packages in `lock_file`."""
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
    report = json.loads(completed.stdout)
    found, skipped = [], []
    for dependency in report["dependencies"]:
        if "skip_reason" in dependency:
            skipped.append(dependency["name"])
        for vulnerability in dependency.get("vulns", []):
            fixes = ", ".join(vulnerability.get("fix_versions", [])) or "no fix yet"
            found.append(
                f"{dependency['name']} {dependency.get('version', '?')}: "
                f"{vulnerability['id']} (fixed in {fixes})"
            )
    return found, skipped, len(report["dependencies"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lock_files", nargs="+")
    parser.add_argument("--strict", action="store_true", help="fail when a package is skipped")
    arguments = parser.parse_args()
    failed = False
    for lock_file in arguments.lock_files:
        found, skipped, total = audit(lock_file)
        for line in found:
            print(f"VULNERABLE {line}")
        checked = total - len(skipped)
        print(f"{lock_file}: {checked} of {total} packages checked, {len(found)} vulnerabilities")
        if skipped:
            print(
                f"  NOT CHECKED ({len(skipped)}): their vulnerability data could not be fetched "
                "from here; run where PyPI's JSON API answers per version"
            )
        failed |= bool(found) or (arguments.strict and bool(skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

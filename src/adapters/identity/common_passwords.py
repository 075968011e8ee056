"""The blocklist of passwords too common to accept (NIST SP 800-63B-4 §3.1.1.2)."""

from __future__ import annotations

from importlib import resources


def load_common_passwords() -> frozenset[str]:
    """Casefolded passwords from the bundled list; comments and blank lines skipped."""
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )

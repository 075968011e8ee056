"""The README's configuration table is the one the Settings class generates."""

from __future__ import annotations

import re
from pathlib import Path

from entrypoints.settings import configuration_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_matches_the_settings() -> None:
    text = README.read_text("utf-8")
    match = re.search(r"<!-- config:start -->\n(.*?)\n<!-- config:end -->", text, re.S)

    assert match is not None, "README lost its configuration markers"
    assert match.group(1) == configuration_table(), (
        "README configuration table is stale: regenerate it from "
        "entrypoints.settings.configuration_table()"
    )

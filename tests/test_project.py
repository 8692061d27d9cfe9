"""The project's own promises: README's commands and what CI runs agree."""
from __future__ import annotations

import re

from geo_pcmt.paths import REPO_DIR


def _readme_commands() -> list[str]:
    text = (REPO_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one_verbatim():
    commands = _readme_commands()
    assert len(commands) == 2
    serve, test = commands
    assert "geo-pcmt serve" in serve and "pytest" in test
    ci = (REPO_DIR / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()

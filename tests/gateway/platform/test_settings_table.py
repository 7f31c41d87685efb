"""README.md's configuration table and gateway.config.Settings say the same: the variables, and their defaults."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config import specs

README = Path(__file__).resolve().parents[3] / "README.md"
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| (.+?) \| (.*) \|$")
# Variables the README names that are not settings: passwords a command reads from the variable its
# --password-env names, and a knob of the test suite.
NOT_SETTINGS = {"HOTLINE_IMAP_PASSWORD", "HOTLINE_ADMIN_PW", "HOTLINE_SCHEMATHESIS_EXAMPLES"}


def configuration_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Configuration\n")
    return text[start:text.index("\n## ", start + 1)]


def table_rows() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of each row of the configuration table, in order."""
    rows = [line for line in configuration_section().splitlines() if line.startswith("| `")]
    parsed = [ROW.match(line) for line in rows]
    assert all(parsed), [line for line, match in zip(rows, parsed) if not match]  # one variable per row
    return [match.groups() for match in parsed if match]


def declared() -> dict[str, str]:
    return {spec.variable: spec.documented_default for spec in specs().values()}


def test_the_configuration_table_has_one_row_per_variable():
    variables = [variable for variable, _, _ in table_rows()]
    assert len(variables) == len(set(variables)), sorted(v for v in variables if variables.count(v) > 1)


def test_every_setting_is_in_the_readme_table():
    documented = {variable for variable, _, _ in table_rows()}
    assert sorted(set(declared()) - documented) == []


def test_every_variable_in_the_readme_table_is_a_setting():
    documented = {variable for variable, _, _ in table_rows()}
    assert sorted(documented - set(declared())) == []


def test_the_readme_table_shows_each_settings_own_default():
    wrong = {variable: (default, declared()[variable]) for variable, default, _ in table_rows()
             if variable in declared() and default != declared()[variable]}
    assert wrong == {}  # variable: (README's default, the declared one)


def test_every_row_of_the_readme_table_says_what_the_setting_means():
    assert [variable for variable, _, meaning in table_rows() if not meaning.strip()] == []


def test_every_hotline_variable_the_readme_names_anywhere_is_a_setting_or_known_not_to_be_one():
    named = set(re.findall(r"\bHOTLINE_[A-Z0-9_]*[A-Z0-9]\b", README.read_text(encoding="utf-8")))
    assert sorted(named - set(declared()) - NOT_SETTINGS) == []

"""README stays true: every shell example in it is either run here, offline, against a throw-away database, or
listed below with the reason it cannot run in a test; the curl example is posted to the app."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from tests.conftest import subprocess_env

README = Path(__file__).resolve().parents[1] / "README.md"
PASSWORD = "readme-example-pw-1"
# Examples that need what a test has not: a running server, a terminal, a file the reader brings.
NOT_OFFLINE = {
    "./dev run": "starts the servers and waits for Ctrl-C (tests/gateway/cli/test_run.py runs `hotline run`)",
    "./dev test": "the suite itself",
    "./dev hotline demo": "talks to a running gateway (tests/gateway/cli/test_demo.py)",
    "hotline calendar import notice-2027.txt [--dry-run] [--year 2027]": "a notice the reader brings; "
    "tests/gateway/casework/test_calendar_notice.py imports the fixtures",
}


def examples() -> list[str]:
    """Every command line of the README's fenced blocks (a trailing `# comment` dropped, continuations joined)."""
    lines, inside = [], False
    for raw in README.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("```"):
            inside = not inside
            continue
        if inside and lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + line
        elif inside and re.match(r"^(\./dev |hotline |curl |[A-Z_]+=\S* \./dev )", line):
            lines.append(line)
    return [re.sub(r"\s+#\s.*$", "", line).strip() for line in lines]


COMMANDS = [c for c in examples() if not c.startswith("curl ") and c not in NOT_OFFLINE]


def test_the_readme_has_examples_and_every_one_is_run_or_excused():
    found = examples()
    assert len(COMMANDS) >= 5 and any(c.startswith("curl ") for c in found)
    assert set(NOT_OFFLINE) <= set(found), "an excused example is no longer in the README: drop it from the list"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_readme_command_runs_as_written(command: str, config):
    words = shlex.split(command)
    env = subprocess_env(config)
    while "=" in words[0]:  # VAR=... prefixes: the example's placeholder becomes a real value
        name, _ = words.pop(0).split("=", 1)
        env[name] = PASSWORD
    if words[:2] == ["./dev", "hotline"]:
        words = ["hotline", *words[2:]]
    assert words[0] == "hotline", command
    result = CliRunner().invoke(main, words[1:], env=env, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, f"{command}\n{result.output}"


def test_the_curl_example_answers_as_the_readme_says(client):
    [curl] = [c for c in examples() if c.startswith("curl ")]
    words = shlex.split(curl)
    body = json.loads(words[words.index("-d") + 1])
    path = next(w for w in words if w.startswith("localhost:")).split("8000", 1)[1]
    resp = client.post(path, json=body)
    assert resp.status_code == 201
    answer = resp.get_json()
    assert answer["case"]["number"] and answer["case"]["retrieval_code"]

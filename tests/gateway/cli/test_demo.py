"""`hotline demo` drives every channel and prints the resulting cases."""

from __future__ import annotations

import json

from click.testing import CliRunner

from gateway.cli import main
from tests.conftest import subprocess_env


def test_the_demo_sends_a_message_on_every_channel_and_prints_their_cases(config, monkeypatch):
    for key, value in subprocess_env(config).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["demo", "--wait", "0"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for prefix, status in (("board", "201"), ("push", "201"), ("desk", "201"), ("311", "200")):
        assert any(line.split()[:2] == [prefix, status] for line in lines), prefix
    assert "(attached)" in result.output  # the operator attached the caller to the open street-light case
    printed = [json.loads(line) for line in lines if line.startswith("{")]
    assert "(same_person)" in result.output  # the second street-light message from one phone joined the first case
    assert len(printed) == 7 and len({p["number"] for p in printed}) == 7

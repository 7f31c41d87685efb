"""The generic web post adapter: any JSON value becomes a report or an AdapterError naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import web
from adapters.base import AdapterError, InboundReport

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
FIELDS = st.sampled_from(["text", "title", "name", "phone", "email", "address", "category", "external_id",
                          "district", "public", "other"])


@settings(max_examples=150, deadline=None)
@given(st.one_of(JSON, st.dictionaries(FIELDS, JSON, max_size=8)))
def test_no_json_value_makes_the_web_adapter_raise_anything_but_its_rejection(data):
    try:
        report = web.parse_json(data)
    except AdapterError as error:
        assert error.field
        return
    assert isinstance(report, InboundReport) and report.text.strip()


@pytest.mark.parametrize(("data", "field"), [([], "body"), ({}, "text"), ({"text": "x" * 20_001}, "text"),
                                             ({"text": "ok", "phone": True}, "phone")])
def test_web_posts_are_refused_naming_the_field(data, field):
    with pytest.raises(AdapterError) as caught:
        web.parse_json(data)
    assert caught.value.field == field


def test_every_adapter_that_parses_a_payload_has_a_property_test():
    adapters_dir = Path(web.__file__).parent
    tests_dir = Path(__file__).parent
    helpers = {"__init__", "base", "values", "mailtext", "case_number"}  # used by the parsers, tested through them
    modules = {p.stem for p in adapters_dir.glob("*.py")} - helpers
    missing = [m for m in sorted(modules)
               if not (tests_dir / f"test_{m}.py").exists() or "@given" not in (tests_dir / f"test_{m}.py").read_text()]
    assert not missing, f"adapters without a hypothesis test: {missing}"

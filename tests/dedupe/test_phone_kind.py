"""Which numbers can take a text message: phonenumbers' number type, for the phone work list."""

from __future__ import annotations

import pytest

from dedupe.identity import takes_sms


@pytest.mark.parametrize(("number", "texts"), [
    ("027-85551234", False),  # a Wuhan fixed line
    ("02785551234", False), ("+86 27 8555 1234", False), ("010-12345678", False),
    ("400-123-4567", False),  # a shared-cost service number
    ("13800138001", True), ("+8613800138001", True), ("１３８００１３８００１", True),  # full-width digits
    ("+1 650 253 0000", True),  # the US: fixed line or mobile, cannot tell
    ("", False), (None, False), ("no number", False),
])
def test_fixed_lines_and_service_numbers_take_no_sms(number, texts):
    assert takes_sms(number) is texts

"""Find a gateway case number ("WH20261128-0042") that a citizen quoted in free text."""

from __future__ import annotations

import re
import unicodedata

# A city code (2-4 letters, "WH" for Wuhan) + YYYYMMDD + "-" + 4-8 digits; "工单号"/"Case" may precede a
# number whose letters were dropped (then the default city code is assumed).
_WITH_PREFIX = re.compile(r"(?<![A-Z0-9])([A-Z]{2,4})\s?(\d{8})\s?[-_]\s?(\d{4,8})(?!\d)", re.IGNORECASE)
_AFTER_LABEL = re.compile(
    r"(?:工单号|工单编号|工单|案件号|Case(?:\s*(?:No\.?|Number|#))?)\s*[:：#]?\s*()(\d{8})\s?[-_]\s?(\d{4,8})(?!\d)",
    re.IGNORECASE,
)


def _plausible_date(digits: str) -> bool:
    """Tell whether eight digits read as a YYYYMMDD date."""
    month, day = int(digits[4:6]), int(digits[6:8])
    return 1 <= month <= 12 and 1 <= day <= 31


def find_case_ref(text: str | None, default_code: str = "WH") -> str | None:
    """Return the first case number in the text, normalized to "WHYYYYMMDD-NNNN", or None."""
    if not text:
        return None
    normalized = unicodedata.normalize("NFKC", text)
    for pattern in (_WITH_PREFIX, _AFTER_LABEL):
        for match in pattern.finditer(normalized):
            code, date, serial = match.group(1), match.group(2), match.group(3)
            if _plausible_date(date):
                return f"{(code or default_code).upper()}{date}-{serial}"
    return None

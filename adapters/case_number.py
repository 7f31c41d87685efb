"""Find a gateway case number ("WH20261128-0042") that a citizen quoted in free text."""

from __future__ import annotations

import re
import unicodedata

# "WH" + YYYYMMDD + "-" + 4-6 digits; "工单号"/"Case" may precede a number whose "WH" was dropped.
_WITH_PREFIX = re.compile(r"(?<![A-Z0-9])WH\s?(\d{8})\s?[-_]\s?(\d{4,6})(?!\d)", re.IGNORECASE)
_AFTER_LABEL = re.compile(
    r"(?:工单号|工单编号|工单|案件号|Case(?:\s*(?:No\.?|Number|#))?)\s*[:：#]?\s*(?:WH)?\s?(\d{8})\s?[-_]\s?(\d{4,6})(?!\d)",
    re.IGNORECASE,
)


def _plausible_date(digits: str) -> bool:
    """Tell whether eight digits read as a YYYYMMDD date."""
    month, day = int(digits[4:6]), int(digits[6:8])
    return 1 <= month <= 12 and 1 <= day <= 31


def find_case_ref(text: str | None) -> str | None:
    """Return the first case number in the text, normalized to "WHYYYYMMDD-NNNN", or None."""
    if not text:
        return None
    normalized = unicodedata.normalize("NFKC", text)
    for pattern in (_WITH_PREFIX, _AFTER_LABEL):
        for match in pattern.finditer(normalized):
            date, serial = match.group(1), match.group(2)
            if _plausible_date(date):
                return f"WH{date}-{serial}"
    return None

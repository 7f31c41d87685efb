"""Normalize how a reporter is identified, so that one person links across channels."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "CN"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(value: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return the E.164 form of a phone number, or None when it is not a plausible number.

    Accepts what citizens and call-centre systems write: "027-8xxxxxxx", "+86 138 0013 8000",
    "138 0013 8000", "0086-13800138000", full-width digits.
    """
    number = _parsed(value, region)
    if number is None or not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parsed(value: str | None, region: str) -> phonenumbers.PhoneNumber | None:
    """A number as written (full-width digits, a 00 prefix), parsed; None when it is no number at all."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


# Number types that cannot receive a text message: a reply to one of these is read out by an operator instead.
_NO_SMS = frozenset({phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.TOLL_FREE,
                     phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST,
                     phonenumbers.PhoneNumberType.UAN, phonenumbers.PhoneNumberType.VOICEMAIL})


def takes_sms(value: str | None, region: str = DEFAULT_REGION) -> bool:
    """Whether a text message can reach this number, as far as its type tells (phonenumbers' metadata).

    False for a fixed line ("027-85551234"), a toll-free or premium-rate number and the like; True for a mobile,
    a number that may be either (the US), and a number whose type is unknown (as every number was treated before).
    """
    number = _parsed(value, region)
    return number is not None and phonenumbers.number_type(number) not in _NO_SMS


def normalize_email(value: str | None) -> str | None:
    """Return a lower-cased bare address, or None when it is not an address."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().strip("<>").lower()
    return text if _EMAIL.match(text) else None


def normalize_board_user(value: str | None) -> str | None:
    if not value:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None

"""Personal data: phone numbers, resident ID numbers, names — normalise, validate, mask.

Pure functions. Masks follow DESIGN §7 (``138****5678``, ``4419**********123X``) and are built to
reveal at most the leading / trailing characters named in each function, whatever the input.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from services.common.text import fold_width

__all__ = [
    "ID_CHECK_CHARS",
    "ID_WEIGHTS",
    "InvalidIdNumber",
    "InvalidPhone",
    "QuotedNumber",
    "find_numbers",
    "id_check_char",
    "lenient_phone",
    "mask_id_number",
    "mask_name",
    "mask_numbers",
    "mask_numbers_in",
    "mask_phone",
    "normalise_phone",
    "validate_id_number",
]

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_MASK = "*"


# --- phone numbers -------------------------------------------------------------------------------


class InvalidPhone(ValueError):
    """The text is not a dialable phone number (too short, wrong length, unknown prefix...)."""


# Dongguan's area code (区号): a landline dialled or written within the city has 8 digits and no
# area code (85581276), and a 12345 caller id of a local call often arrives that way too.
LOCAL_AREA_CODE: Final = "0769"
_LOCAL_LANDLINE_RE = re.compile(r"[2-9]\d{7}")


def normalise_phone(raw: str, region: str = "CN") -> str:
    """A phone number as E.164 (``+8613800138000``, ``+8676922221234``).

    Accepts spaces, dashes, brackets, full-width digits, ``+86`` / ``0086`` prefixes, landlines
    with their area code (``0769-22221234``) and Dongguan's own without it (``2222 1234``, read as
    0769). Service short numbers (``12345``, ``110``) are not personal numbers and are rejected.
    Raises :class:`InvalidPhone`.
    """
    text = fold_width(raw or "").strip()
    if not text:
        raise InvalidPhone("empty phone number")
    if _LOCAL_LANDLINE_RE.fullmatch(re.sub(r"[\s\-()]", "", text)):
        text = LOCAL_AREA_CODE + text
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"not a valid phone number for region {region}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def lenient_phone(raw: str | None) -> str | None:
    """A phone number from a machine (a caller id, a labelled pair): one that cannot be dialled
    is simply absent."""
    try:
        return normalise_phone(raw) if raw else None
    except InvalidPhone:
        return None


def _mask_middle(visible_head: str, hidden: int, visible_tail: str) -> str:
    return f"{visible_head}{_MASK * hidden}{visible_tail}"


def mask_phone(e164: str) -> str:
    """Mask a phone number for display: ``+8613812345678`` -> ``138****5678``.

    Chinese mobiles keep the first 3 and last 4 digits; landlines keep the area code (with its
    trunk 0) and the last 4 (``0769****1234``); other countries keep ``+cc`` and the last 4.
    Anything unparseable keeps only its last 4 characters (none if shorter than 8), so a mask never
    leaks more than a real number's would.
    """
    text = fold_width(e164 or "").strip()
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException:
        return _mask_fallback(text)
    if not phonenumbers.is_valid_number(number):
        return _mask_fallback(text)
    national = phonenumbers.national_significant_number(number)
    if number.country_code == 86:
        kind = phonenumbers.number_type(number)
        if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE) and len(national) == 11:
            return _mask_middle(national[:3], len(national) - 7, national[-4:])
        area = phonenumbers.length_of_geographical_area_code(number)
        if area > 0 and len(national) - area > 4:
            return _mask_middle("0" + national[:area], len(national) - area - 4, national[-4:])
    if len(national) <= 4:
        return _MASK * len(national)
    return _mask_middle(f"+{number.country_code}", len(national) - 4, national[-4:])


def _mask_fallback(text: str) -> str:
    if len(text) < 8:
        return _MASK * len(text)
    return _mask_middle("", len(text) - 4, text[-4:])


# --- resident identity card numbers (GB 11643-1999) ----------------------------------------------

# ISO 7064 MOD 11-2 weights: W_i = 2^(i-1) mod 11 for positions 18..2, i.e. for the 17 body
# digits read left to right.
ID_WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character for (sum of weighted digits) mod 11 = 0..10.
ID_CHECK_CHARS: Final[str] = "10X98765432"

# GB/T 2260 province-level codes, plus 71/81/82/83: Taiwan, Hong Kong, Macao (and the residence
# permits for their residents, which use the same 18-character scheme).
_PROVINCES: Final[frozenset[str]] = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "  # noqa: SIM905
    "61 62 63 64 65 71 81 82 83".split()
)
_ID_RE = re.compile(r"^\d{17}[\dX]$")
# GB 11643 itself uses a birth year of 1880 in its examples; earlier years are garbage, not people.
_EARLIEST_BIRTH = dt.date(1800, 1, 1)


class InvalidIdNumber(ValueError):
    """An ID number failed a GB 11643 check. ``reason`` is a stable machine code.

    Reasons: ``empty``, ``length``, ``format``, ``region``, ``birth_date``, ``check_digit``.
    """

    _ZH: Final[dict[str, str]] = {
        "empty": "请填写身份证号码",
        "length": "身份证号码应为18位",
        "format": "身份证号码应为17位数字加1位数字或X",
        "region": "身份证号码的地址码无效",
        "birth_date": "身份证号码中的出生日期无效",
        "check_digit": "身份证号码校验位不正确，请核对",
    }

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    @property
    def message_zh(self) -> str:
        """A message for residents, in Chinese."""
        return self._ZH.get(self.reason, "身份证号码无效")


def id_check_char(body17: str) -> str:
    """The GB 11643 check character for 17 body digits (ISO 7064 MOD 11-2)."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError("the body of an ID number is 17 digits")
    total = sum(int(d) * w for d, w in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def validate_id_number(raw: str, today: dt.date | None = None) -> str:
    """Check an 18-character 居民身份证 number and return it canonical (upper-case ``X``).

    Checks length, form, the province of the address code, the birth date (a real date, not
    before 1800, not after ``today`` — by default today in Asia/Shanghai) and the check character.
    Full-width digits and embedded spaces are tolerated. Raises :class:`InvalidIdNumber`.
    """
    text = fold_width(raw or "").replace(" ", "").strip().upper()
    if not text:
        raise InvalidIdNumber("empty", "no ID number given")
    if len(text) != 18:
        raise InvalidIdNumber("length", f"expected 18 characters, got {len(text)}")
    if not _ID_RE.match(text):
        raise InvalidIdNumber("format", "expected 17 digits and a digit or X")
    if text[:2] not in _PROVINCES:
        raise InvalidIdNumber("region", f"unknown province code {text[:2]}")
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth_date", f"{text[6:14]} is not a date") from None
    latest = today if today is not None else dt.datetime.now(_SHANGHAI).date()
    if not _EARLIEST_BIRTH <= birth <= latest:
        raise InvalidIdNumber("birth_date", f"{birth.isoformat()} is out of range")
    expected = id_check_char(text[:17])
    if text[17] != expected:
        raise InvalidIdNumber("check_digit", f"expected check character {expected}, got {text[17]}")
    return text


def mask_id_number(id_number: str) -> str:
    """Mask an ID number: first 4 and last 4 kept, stars between, always 18 characters.

    ``441900199001011234`` -> ``4419**********1234``. Input too short to keep 8 characters
    without revealing most of it becomes 18 stars; the fixed length hides the original's.
    """
    text = fold_width(id_number or "").replace(" ", "").strip().upper()
    if len(text) < 12:
        return _MASK * 18
    return f"{text[:4]}{_MASK * 10}{text[-4:]}"


# --- names ---------------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """Mask a person's name: keep the first character, star the rest (``张三`` -> ``张*``,
    ``欧阳娜娜`` -> ``欧***``). A one-character name is fully starred.
    """
    text = (name or "").strip()
    if len(text) <= 1:
        return _MASK * len(text)
    return text[0] + _MASK * (len(text) - 1)


# --- numbers inside free text --------------------------------------------------------------------
# The one detector of phone and ID numbers written in words ("电话139 2664 1258", "身份证号
# 441900-19880715-4210"): used to mask free text wherever it is kept or shown, and to keep the full
# numbers apart, encrypted, for the staff who may call back.

# An 18-character ID number (17 digits and a digit or X; a space or dash may split it 6-8-4), not
# part of a longer number.
_ID_IN_TEXT = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}[-\s]?(?:18|19|20)[0-9]{2}[01][0-9][0-3][0-9][-\s]?[0-9]{3}[0-9Xx](?![0-9])"
)
# A mainland mobile (with +86 / 0086, spaces or dashes) or a landline with its area code.
_PHONE_IN_TEXT = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86[-\s]?)?(?:1[3-9][0-9](?:[-\s]?[0-9]{4}){2}|0[1-9][0-9]{1,2}[-\s]?[0-9]{7,8})(?![0-9])"
)
_SEPARATORS = re.compile(r"[-\s]")


@dataclass(frozen=True)
class QuotedNumber:
    """A phone or ID number found in free text: where it is, its canonical value and its mask."""

    kind: Literal["phone", "id_number"]
    start: int
    end: int
    value: str  # E.164 for a dialable phone (else its digits), upper-case X for an ID number
    masked: str


def _phone_value(written: str) -> str:
    compact = _SEPARATORS.sub("", written)
    try:
        return normalise_phone(compact)
    except InvalidPhone:
        return compact


def find_numbers(text: str) -> list[QuotedNumber]:
    """Every phone and ID number in `text` (width-folded first), in order of appearance."""
    folded = fold_width(text or "")
    found: list[QuotedNumber] = []
    for m in _ID_IN_TEXT.finditer(folded):
        value = _SEPARATORS.sub("", m.group(0)).upper()
        found.append(QuotedNumber("id_number", m.start(), m.end(), value, mask_id_number(value)))
    taken = [(q.start, q.end) for q in found]
    for m in _PHONE_IN_TEXT.finditer(folded):
        if any(m.start() < end and start < m.end() for start, end in taken):
            continue
        value = _phone_value(m.group(0))
        found.append(QuotedNumber("phone", m.start(), m.end(), value, mask_phone(value)))
    return sorted(found, key=lambda q: q.start)


def mask_numbers(text: str) -> str:
    """The text with every phone and ID number in it masked the DESIGN §7 way (width-folded when
    it holds one; returned as it is when it holds none)."""
    folded = fold_width(text or "")
    numbers = find_numbers(folded)
    if not numbers:
        return text
    out, last = [], 0
    for q in numbers:
        out.append(folded[last : q.start])
        out.append(q.masked)
        last = q.end
    out.append(folded[last:])
    return "".join(out)


def mask_email(address: str) -> str:
    """`w***@example.com`: enough to tell two addresses apart, not to write to one."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


def mask_numbers_in(value: Any) -> Any:
    """A JSON-like value with every phone and ID number in its strings masked (`mask_numbers`)."""
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, dict):
        return {k: mask_numbers_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_numbers_in(v) for v in value]
    return value

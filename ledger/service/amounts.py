"""Amounts as people read them: yuan with two decimals, and the capital form (大写) of receipts.

Fen are integers everywhere; these only format them. Pure: no I/O.
"""

from __future__ import annotations

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("仟", "佰", "拾", "")
# Four-digit groups from the right: 元, 万, 亿, 万亿 (MAX_AMOUNT_FEN is a trillion yuan).
_GROUPS = ("", "万", "亿", "万亿")


def yuan(fen: int) -> str:
    """`1234567` → `"12,345.67"` (negative amounts keep their sign)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _group_words(group: int) -> str:
    # One group of up to four digits; zeros inside collapse to one 零, trailing zeros vanish.
    digits = f"{group:04d}"
    out: list[str] = []
    zero_pending = False
    for digit, unit in zip(digits, _UNITS, strict=True):
        if digit == "0":
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS[int(digit)] + unit)
    return "".join(out)


def _integer_words(number: int) -> str:
    if number == 0:
        return "零"
    groups: list[int] = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    if len(groups) > len(_GROUPS):
        raise ValueError("amount too large for a receipt")
    out = ""
    gap = False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        out += _group_words(group) + _GROUPS[index]
        gap = False
    return out


def capital_amount(fen: int) -> str:
    """The amount in capital figures, as written on a receipt (人民币大写).

    `10500000000` → `人民币壹亿零伍佰万元整`; `105` → `人民币壹元零伍分`; `50` → `人民币伍角`.
    """
    if fen < 0:
        raise ValueError("a receipt amount is never negative")
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if cents == 0:
        return f"人民币{_integer_words(whole)}元整"
    text = f"{_integer_words(whole)}元" if whole else ""
    if jiao:
        text += f"{_DIGITS[jiao]}角"
    elif whole:
        text += "零"
    if fen_digit:
        text += f"{_DIGITS[fen_digit]}分"
    return f"人民币{text}"

"""Pure ledger rules: holder codes, allocation levels, income targets, legs, request hashing,
which sources pay (the disbursement order), payee and donor codes, the matching arithmetic.

No I/O here, so every rule is tested directly. Codes are the national 12-digit statistical area
codes, except the city (市), which is `city` as in every other service (the ledger once spelled it
441900000000, Dongguan's own code, and still reads that spelling: `canonical_code`); a town (镇街)
keeps its 9-digit prefix and ends in 000 (441900121000); a village or community (村/社区) shares
its town's 9-digit prefix (441900121201).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple

from ledger.errors import InvalidAllocation, InvalidHolder, InvalidIncomeTarget
from ledger.schemas import AllocationCommand, FundHolder, IncomeCommand
from services.common import idempotency, scope

CITY_CODE = scope.CITY_CODE
# How the ledger spelled the city before it took `city`; still read, never written.
LEGACY_CITY_CODE = "441900000000"
# The outside world a source's money comes from: one `external` account per source.
EXTERNAL_CODE = "outside"
LEVEL_NAMES = {"city": "市", "town": "镇街", "village": "村（社区）", "reservation": "资金预留"}
_AREA_CODE = re.compile(r"^441900(?P<town>\d{3})(?P<village>\d{3})$")


class AccountKey(NamedTuple):
    """What identifies an account: one holder's money of one source."""

    holder_type: str
    holder_code: str
    source_code: str


class Leg(NamedTuple):
    """One side of an entry before it is posted: positive increases the account's balance."""

    account: AccountKey
    amount_fen: int


def canonical_code(holder_type: str, holder_code: str) -> str:
    """A holder's code as the ledger stores it: the city's old spelling read as `city`."""
    if holder_type == "city" and holder_code == LEGACY_CITY_CODE:
        return CITY_CODE
    return holder_code


def validate_holder(holder_type: str, holder_code: str) -> None:
    """Refuse a city / town / village code of the wrong shape; other holders are free-form."""
    match = _AREA_CODE.match(holder_code)
    if holder_type == "city":
        ok = holder_code == CITY_CODE
    elif holder_type == "town":
        ok = match is not None and match["town"] != "000" and match["village"] == "000"
    elif holder_type == "village":
        ok = match is not None and match["town"] != "000" and match["village"] != "000"
    else:
        ok = bool(holder_code.strip())
    if not ok:
        level = LEVEL_NAMES.get(holder_type, "账户主体")
        raise InvalidHolder(
            f"「{holder_code}」不是有效的{level}代码。", holder_type=holder_type, holder_code=holder_code
        )


def check_allocation(payer: FundHolder, payee: FundHolder) -> None:
    """Allocation (资金下拨) goes exactly one level down: city → town, town → its own village."""
    validate_holder(payer.holder_type, payer.holder_code)
    validate_holder(payee.holder_type, payee.holder_code)
    levels = (payer.holder_type, payee.holder_type)
    if levels == ("city", "town"):
        return
    if levels == ("town", "village"):
        if scope.town_code_of_village(payee.holder_code) != payer.holder_code:
            raise InvalidAllocation(
                f"村（社区）「{payee.holder_code}」不属于镇街「{payer.holder_code}」，不能由其下拨。",
                from_holder=payer.model_dump(),
                to_holder=payee.model_dump(),
            )
        return
    raise InvalidAllocation(from_holder=payer.model_dump(), to_holder=payee.model_dump())


def check_income_target(source_code: str, allowed: Collection[str], holder: FundHolder) -> None:
    """Income of a source reaches only the levels it is paid to (市财政 → 市, 镇街配套 → 镇街 …)."""
    validate_holder(holder.holder_type, holder.holder_code)
    if holder.holder_type not in allowed:
        names = "、".join(LEVEL_NAMES.get(t, t) for t in allowed)
        raise InvalidIncomeTarget(
            f"资金来源「{source_code}」的收入只能记入{names}账户。",
            source_code=source_code,
            holder_type=holder.holder_type,
        )


def income_legs(cmd: IncomeCommand) -> list[Leg]:
    """Income (收入): the source's outside world pays, the holder's fund account receives."""
    source = cmd.source_code
    return [
        Leg(AccountKey("external", EXTERNAL_CODE, source), -cmd.amount_fen),
        Leg(AccountKey(cmd.holder.holder_type, cmd.holder.holder_code, source), cmd.amount_fen),
    ]


def allocation_legs(cmd: AllocationCommand) -> list[Leg]:
    """Allocation: the payer's account of the source pays, the payee's account of it receives."""
    source = cmd.source_code
    return [
        Leg(AccountKey(cmd.from_holder.holder_type, cmd.from_holder.holder_code, source), -cmd.amount_fen),
        Leg(AccountKey(cmd.to_holder.holder_type, cmd.to_holder.holder_code, source), cmd.amount_fen),
    ]


# One text per meaning, and the request's fingerprint: the kernel's, shared by every command table.
canonical_json = idempotency.canonical_json
request_hash = idempotency.request_hash


# -- which sources pay ------------------------------------------------------------------------

# The disbursement rule (拨付顺序): a holder's money is drawn from its accounts in this order,
# each source paying what it holds before the next is touched, unless the command names one
# source. Donations first: they are given for this purpose and disclosed per donor, so they
# should not lie idle; then the charity federation's and the city's special funds, which are
# granted for the programme and fall due for review at year end; the town's matching money and
# the village collective's own money last, since the holder may spend those on anything.
DISBURSEMENT_ORDER: tuple[str, ...] = (
    "donation",
    "city_charity",
    "city_finance",
    "town_matching",
    "village_collective",
)


def paying_sources(source_code: str | None) -> tuple[str, ...]:
    """The sources a draw may take from, in order: the named one, or the disbursement order."""
    return (source_code,) if source_code is not None else DISBURSEMENT_ORDER


def split_amount(amount_fen: int, available: Sequence[tuple[str, int]]) -> list[tuple[str, int]] | None:
    """Take `amount_fen` from the sources in the given order; None when they cannot cover it.

    Each source gives what it holds (never below zero) before the next one is touched; sources
    that give nothing are left out, so the legs name only the money that moves.
    """
    parts: list[tuple[str, int]] = []
    rest = amount_fen
    for source, balance in available:
        if rest == 0:
            break
        take = min(rest, max(balance, 0))
        if take > 0:
            parts.append((source, take))
            rest -= take
    return parts if rest == 0 else None


def transfer_legs(
    payer: tuple[str, str], payee: tuple[str, str], parts: Iterable[tuple[str, int]]
) -> list[Leg]:
    """Per source: the payer's account pays, the payee's account of the same source receives."""
    legs: list[Leg] = []
    for source, amount in parts:
        legs.append(Leg(AccountKey(payer[0], payer[1], source), -amount))
        legs.append(Leg(AccountKey(payee[0], payee[1], source), amount))
    return legs


def reversal_legs(
    original: Iterable[Leg], redirect: Mapping[AccountKey, AccountKey] | None = None
) -> list[Leg]:
    """A reversing entry (冲正): every leg negated; a leg may be redirected to another account
    of the same source (money paid out of a reservation that has since resolved returns to its
    holder's fund account, since the reservation's own accounts are closed)."""
    moved = redirect or {}
    legs: list[Leg] = []
    for leg in original:
        target = moved.get(leg.account, leg.account)
        if target.source_code != leg.account.source_code:
            raise ValueError("a reversal never changes a leg's source")
        legs.append(Leg(target, -leg.amount_fen))
    return legs


# -- codes of payees and donors -----------------------------------------------------------------

_OPAQUE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$")
# What a person's identity looks like: a mainland ID number (GB 11643) or a mobile number.
_PERSONAL = re.compile(r"(\d{17}[\dXx])|(1[3-9]\d{9})")


def validate_reference_code(kind: str, code: str) -> None:
    """A payee's or donor's code is an opaque reference (e.g. the appeal or project id): ASCII
    letters, digits and `:._-`, and never an ID card or phone number, so that no personal data
    reaches the journal, its hash chain or a report."""
    if not _OPAQUE_CODE.match(code) or _PERSONAL.search(code):
        raise InvalidHolder(
            f"「{code}」不是有效的{REFERENCE_NAMES.get(kind, '账户主体')}编码：只能使用字母、数字和 :._-，"
            "且不得包含身份证号或手机号。",
            holder_type=kind,
            holder_code=code,
        )


REFERENCE_NAMES = {"project": "项目", "beneficiary": "受助对象", "donor": "捐赠方"}


def donor_outside_code(donor_code: str) -> str:
    """The outside-world account a donor's money comes from: one per donor, so a donor's whole
    giving is one account's statement (source `donation`)."""
    return f"donor:{donor_code}"


# -- matching (配套) -----------------------------------------------------------------------------

MATCHING_PERMILLE = {"1:1": 1000, "1:0.5": 500}
DEFAULT_MATCHING_RATIO = "1:1"


def matching_required(city_allocated_fen: int, ratio: str) -> int:
    """What a town owes in matching for the city money it received: rounded up to the fen."""
    permille = MATCHING_PERMILLE[ratio]
    return -(-max(city_allocated_fen, 0) * permille // 1000)

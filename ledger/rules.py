"""Pure ledger rules: holder codes, allocation levels, income targets, legs, request hashing.

No I/O here, so every rule is tested directly. Codes are the national 12-digit statistical area
codes: Dongguan (东莞市) is 441900000000; a town (镇街) keeps its 9-digit prefix and ends in 000
(441900121000); a village or community (村/社区) shares its town's 9-digit prefix (441900121201).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from ledger.errors import InvalidAllocation, InvalidHolder, InvalidIncomeTarget
from ledger.schemas import AllocationCommand, FundHolder, IncomeCommand

CITY_CODE = "441900000000"
# The outside world a source's money comes from: one `external` account per source.
EXTERNAL_CODE = "outside"
LEVEL_NAMES = {"city": "市", "town": "镇街", "village": "村（社区）"}
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


def town_of(village_code: str) -> str:
    """The town code a village code belongs to (same 9-digit prefix)."""
    return village_code[:9] + "000"


def check_allocation(payer: FundHolder, payee: FundHolder) -> None:
    """Allocation (资金下拨) goes exactly one level down: city → town, town → its own village."""
    validate_holder(payer.holder_type, payer.holder_code)
    validate_holder(payee.holder_type, payee.holder_code)
    levels = (payer.holder_type, payee.holder_type)
    if levels == ("city", "town"):
        return
    if levels == ("town", "village"):
        if town_of(payee.holder_code) != payer.holder_code:
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


def canonical_json(payload: Mapping[str, Any]) -> str:
    """One text per meaning: keys sorted, no insignificant whitespace, UTF-8 kept as is."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def request_hash(operation: str, payload: Mapping[str, Any]) -> str:
    """sha256 of the operation and the command's canonical JSON, so that a replay can be told
    from a different request reusing the same idempotency key (幂等键)."""
    text = canonical_json({"operation": operation, "command": payload})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

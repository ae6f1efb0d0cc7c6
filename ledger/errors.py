"""The ledger's domain errors: stable English codes for machines, Chinese detail for people."""

from __future__ import annotations

from services.common.errors import Conflict, InvalidInput


class InsufficientFunds(Conflict):
    """The paying account holds less than the amount (余额不足); nothing was written."""

    code, title = "insufficient_funds", "Insufficient funds"
    message = "账户资金余额不足，本次操作未执行。"


class UnknownSource(InvalidInput):
    """The fund source (资金来源) code is not one the ledger knows."""

    code, title = "unknown_source", "Unknown fund source"
    message = "资金来源不存在，请核对资金来源代码。"


class InvalidHolder(InvalidInput):
    """A holder code does not have the shape its level requires."""

    code, title = "invalid_holder", "Invalid account holder"
    message = "账户主体代码不正确，请核对后重试。"


class InvalidAllocation(InvalidInput):
    """An allocation (资金下拨) that is not one level down to a unit below the payer."""

    code, title = "invalid_allocation", "Allocation not allowed between these holders"
    message = "资金只能逐级下拨：市拨付至镇街，镇街拨付至本镇街所辖村（社区）。"


class InvalidIncomeTarget(InvalidInput):
    """Income of this source may not be booked to this level of holder."""

    code, title = "invalid_income_target", "Income of this source cannot go to this holder"
    message = "该资金来源的收入不能直接记入此账户主体。"


class IdempotencyKeyRequired(InvalidInput):
    """A command arrived without its `Idempotency-Key` header (or with an unusable one)."""

    code, title = "idempotency_key_required", "Idempotency-Key header required"
    message = "请求缺少有效的 Idempotency-Key 请求头（1 至 200 个可见字符）。"

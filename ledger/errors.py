"""The ledger's domain errors: stable English codes for machines, Chinese detail for people."""

from __future__ import annotations

from services.common.errors import Conflict, InvalidInput, NotFound


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


class ReservationNotFound(NotFound):
    """No reservation (资金预留) has this id."""

    code, title = "reservation_not_found", "Reservation not found"
    message = "没有找到该资金预留记录。"


class ReservationResolved(Conflict):
    """The reservation already resolved (posted, released or expired): it resolves only once."""

    code, title = "reservation_resolved", "Reservation already resolved"
    message = "该资金预留已办结（已拨付、已释放或已过期），不能再次操作。"


class ReservationExists(Conflict):
    """The appeal already has an open reservation; it must resolve before another is made."""

    code, title = "reservation_exists", "The appeal already has an open reservation"
    message = "该诉求已有未办结的资金预留，请先拨付或释放后再预留。"


class InvalidExpiry(InvalidInput):
    """A reservation's expiry lies in the past."""

    code, title = "invalid_expiry", "Expiry must lie in the future"
    message = "预留到期时间必须晚于当前时间。"


class PledgeNotFound(NotFound):
    """No pledge (认捐) has this id."""

    code, title = "pledge_not_found", "Pledge not found"
    message = "没有找到该认捐记录。"


class PledgeExceeded(Conflict):
    """A receipt larger than what is still outstanding on its pledge."""

    code, title = "pledge_exceeded", "Receipt exceeds the pledge"
    message = "到账金额超过认捐尚未到账的部分，本次操作未执行。"


class ClaimAlreadyPledged(Conflict):
    """A claim (认领) already has its pledge."""

    code, title = "claim_already_pledged", "The claim already has a pledge"
    message = "该认领已登记认捐，不能重复登记。"


class AlreadyReversed(Conflict):
    """The entry has been reversed already: a second reversal is refused."""

    code, title = "already_reversed", "Entry already reversed"
    message = "该记账凭证已冲正，不能重复冲正。"


class NotReversible(Conflict):
    """The entry cannot be reversed by a reversing entry (a reversal, or a reservation's own
    entries, which resolve through the reservation instead)."""

    code, title = "not_reversible", "Entry cannot be reversed"
    message = "该记账凭证不能冲正：冲正凭证不再冲正，资金预留请通过拨付或释放办结。"

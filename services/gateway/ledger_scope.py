"""Who may move or see which money in the ledger (the gateway's checks before forwarding).

- `city_admin`: all money;
- `town_staff`: moves its own town's money; sees its town's and its villages';
- `village_staff`: moves and sees its own village's money;
- `auditor`: sees everything, moves nothing;
- anyone else: nothing.
"""

from __future__ import annotations

from typing import Any

from services.common.auth import Principal
from services.common.errors import Forbidden, InvalidInput

Holder = tuple[str, str]


class ReadOnly(Forbidden):
    code, title = "read_only", "Auditors only read"
    message = "审计人员只能查阅资金信息，不能办理资金业务。"


class OutOfScope(Forbidden):
    code, title = "out_of_scope", "Not your unit's funds"
    message = "只能办理或查阅本单位（及所辖村、社区）的资金。"


def holder_in(body: dict[str, Any], field: str, default: Holder | None = None) -> Holder:
    """The (holder_type, holder_code) a command body names in `field`, or a 422."""
    value = body.get(field)
    if value is None and default is not None:
        return default
    if isinstance(value, dict):
        kind, code = value.get("holder_type"), value.get("holder_code")
        if isinstance(kind, str) and isinstance(code, str):
            return kind, code
    raise InvalidInput(f"请提供有效的 {field}（holder_type 与 holder_code）。", field=field)


def may_act(principal: Principal, holder: Holder) -> bool:
    """Whether the principal may move this holder's money."""
    kind, code = holder
    if principal.role == "city_admin":
        return True
    if principal.role == "town_staff":
        return kind == "town" and code == principal.org_code
    if principal.role == "village_staff":
        return kind == "village" and code == principal.org_code
    return False


def may_read(principal: Principal, holder: Holder) -> bool:
    """Whether the principal may see this holder's money (a town sees its villages)."""
    kind, code = holder
    if principal.role in ("city_admin", "auditor"):
        return True
    if principal.role == "town_staff":
        own = principal.org_code
        return (kind == "town" and code == own) or (kind == "village" and code[:9] == own[:9])
    if principal.role == "village_staff":
        return kind == "village" and code == principal.org_code
    return False


def require_act(principal: Principal, holder: Holder) -> None:
    """Refuse a command on money the principal does not hold."""
    if principal.role == "auditor":
        raise ReadOnly()
    if not may_act(principal, holder):
        raise OutOfScope(holder_type=holder[0], holder_code=holder[1])


def require_read(principal: Principal, holder: Holder) -> None:
    """Refuse a read of money outside the principal's unit."""
    if not may_read(principal, holder):
        raise OutOfScope(holder_type=holder[0], holder_code=holder[1])

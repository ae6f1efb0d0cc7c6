"""Who may move or see which money in the ledger (the gateway's checks before forwarding), by the
one scope module (`services.common.scope`).

- `city_admin`: all money;
- `town_staff`: moves its own town's money; sees its town's and its villages';
- `village_staff`: moves and sees its own village's money;
- `auditor`: sees everything, moves nothing;
- anyone else: nothing.
"""

from __future__ import annotations

from services.common.auth import Principal
from services.common.scope import Unit, acts_for, is_read_only, sees_everything, town_sees
from services.gateway.errors import FundsOutOfScope, ReadOnly

Holder = tuple[str, str]
# The holders a member of staff below the city can be in scope of: their unit's fund accounts.
_AREA_HOLDERS = ("town", "village")


def may_act(principal: Principal, holder: Holder) -> bool:
    """Whether the principal may move this holder's money."""
    if principal.role == "city_admin":
        return True
    kind, code = holder
    return kind in _AREA_HOLDERS and acts_for(principal, Unit(kind, code))


def may_read(principal: Principal, holder: Holder) -> bool:
    """Whether the principal may see this holder's money (a town sees its villages)."""
    if sees_everything(principal):
        return True
    kind, code = holder
    if kind not in _AREA_HOLDERS:
        return False
    return town_sees(principal, Unit(kind, code)) or acts_for(principal, Unit(kind, code))


def require_act(principal: Principal, holder: Holder) -> None:
    """Refuse a command on money the principal does not hold."""
    if is_read_only(principal):
        raise ReadOnly()
    if not may_act(principal, holder):
        raise FundsOutOfScope(holder_type=holder[0], holder_code=holder[1])


def require_read(principal: Principal, holder: Holder) -> None:
    """Refuse a read of money outside the principal's unit."""
    if not may_read(principal, holder):
        raise FundsOutOfScope(holder_type=holder[0], holder_code=holder[1])

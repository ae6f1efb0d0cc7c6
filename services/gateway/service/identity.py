"""Staff accounts (argon2 passwords, lock-out) and API keys (only a hash is kept)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import ROLES, Principal, Role
from services.common.errors import Conflict, InvalidInput, Unauthorized
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.gateway.models import ApiKey, StaffAccount

_hasher = PasswordHasher()
MAX_FAILED_LOGINS = 5
LOCK_FOR = timedelta(minutes=15)
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("guanjia-timing-equaliser")

ORG_TYPE_OF_ROLE: dict[Role, str] = {
    "city_admin": "city",
    "auditor": "city",
    "town_staff": "town",
    "village_staff": "village",
    "department_staff": "department",
    "station_staff": "station",
}


class AccountLocked(Unauthorized):
    code, title = "account_locked", "Account temporarily locked"
    message = "登录失败次数过多，账号已暂时锁定，请15分钟后再试。"


def resolve_org(role: Role, org: str) -> tuple[str, str]:
    """Check that `org` fits the role and return (org_type, canonical org code)."""
    ref = load_reference()
    org_type = ORG_TYPE_OF_ROLE[role]
    if org_type == "city":
        if org != "city":
            raise InvalidInput(f"角色 {role} 的所属单位必须是 city。")
        return "city", "city"
    if org_type == "town":
        town = ref.town_by_code(org) or ref.town_by_name(org)
        if town is None:
            raise InvalidInput(f"找不到镇街：{org}")
        return "town", town.code
    if org_type == "village":
        village = ref.village_by_code(org)
        if village is None:
            raise InvalidInput(f"找不到村（社区）编码：{org}")
        return "village", village.code
    if org_type == "department":
        if ref.department_by_code(org) is None:
            raise InvalidInput(f"找不到部门编码：{org}")
        return "department", org
    if not org.strip():
        raise InvalidInput("驿站编码不能为空。")
    return "station", org.strip()


async def create_staff(
    session: AsyncSession, username: str, password: str, role: str, org: str
) -> StaffAccount:
    """A new staff account (argon2id hash)."""
    if role not in ROLES:
        raise InvalidInput(f"未知角色：{role}（可选：{', '.join(ROLES)}）")
    if len(password) < 8:
        raise InvalidInput("密码至少需要8位。")
    org_type, org_code = resolve_org(role, org)
    account = StaffAccount(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        org_type=org_type,
        org_code=org_code,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"用户名 {username} 已存在。") from exc
    return account


def principal_of(account: StaffAccount) -> Principal:
    """The token claims of an account."""
    return Principal(
        staff_id=str(account.id),
        username=account.username,
        role=account.role,
        org_type=account.org_type,
        org_code=account.org_code,
    )


async def authenticate(session: AsyncSession, username: str, password: str) -> Principal:
    """Check a password; count failures and lock the account after too many."""
    account = await session.scalar(
        select(StaffAccount).where(StaffAccount.username == username).with_for_update()
    )
    if account is None or not account.active:
        _verify(_DUMMY_HASH, password)
        raise Unauthorized("用户名或密码错误。")
    now = utcnow()
    if account.locked_until is not None and account.locked_until > now:
        raise AccountLocked()
    if not _verify(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCK_FOR
            account.failed_logins = 0
        # The failure count must persist although the request fails: the caller commits it.
        raise Unauthorized("用户名或密码错误。")
    account.failed_logins = 0
    account.locked_until = None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return principal_of(account)


def _verify(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password)
    except (VerificationError, InvalidHashError):
        return False


def _key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(session: AsyncSession, name: str) -> str:
    """A new API key `gj_<prefix>_<secret>`; only its hash is stored, so show it once."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = f"gj_{prefix}_{secret}"
    session.add(ApiKey(name=name, prefix=prefix, key_hash=_key_hash(key)))
    await session.flush()
    return key


async def verify_api_key(session: AsyncSession, key: str) -> ApiKey:
    """The active key row for a presented key."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "gj":
        raise Unauthorized()
    row = await session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, _key_hash(key)):
        raise Unauthorized()
    return row

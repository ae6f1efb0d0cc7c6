"""Staff accounts (argon2 passwords, lock-out) and API keys (only a hash is kept)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import ROLES, Principal, Role
from services.common.crypto import encrypt_pii
from services.common.db import session_scope
from services.common.errors import Conflict, InvalidInput, Unauthorized
from services.common.messaging import utcnow
from services.common.personal import normalise_phone
from services.common.reference import load_reference
from services.gateway.models import ApiKey, LoginFailure, StaffAccount

_hasher = PasswordHasher()
MAX_FAILED_LOGINS = 5
# A (username, address) pair's first lock, doubled at each further one, at most MAX_LOCK.
LOCK_FOR = timedelta(minutes=5)
MAX_LOCK = timedelta(hours=24)
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


# How long a gateway process trusts its last look at an account: a disabled member of staff
# loses access at most this late, and a busy cockpit costs one query per account per window.
ACCOUNT_CACHE_S: Final = 5
_current: TTLCache[tuple[str, str, str, str, str], bool] = TTLCache(maxsize=10_000, ttl=ACCOUNT_CACHE_S)


async def account_is_current(principal: Principal) -> bool:
    """Whether a token's account still exists, is active, and has the token's name, role and unit."""
    key = (principal.staff_id, principal.username, principal.role, principal.org_type, principal.org_code)
    known = _current.get(key)
    if known is not None:
        return known
    try:
        staff_id = uuid.UUID(principal.staff_id)
    except ValueError:
        return False
    async with session_scope() as session:
        account = await session.get(StaffAccount, staff_id)
    current = (
        account is not None
        and account.active
        and (account.username, account.role, account.org_type, account.org_code) == key[1:]
    )
    _current[key] = current
    return current


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


StationCheck = Callable[[AsyncSession, str], Awaitable[bool]]


async def create_staff(
    session: AsyncSession,
    username: str,
    password: str,
    role: str,
    org: str,
    *,
    phone: str | None = None,
    openid: str | None = None,
    station_exists: StationCheck | None = None,
) -> StaffAccount:
    """A new staff account (argon2id hash). The unit must exist for every role: towns, villages
    and departments in the reference data, a station in routing's register (`station_exists`,
    which the caller supplies since the gateway does not read routing's tables; without it no
    station account is made). `phone` (SMS) and `openid` (mini-program subscribe message) are
    where notifications are pushed, both optional."""
    if role not in ROLES:
        raise InvalidInput(f"未知角色：{role}（可选：{', '.join(ROLES)}）")
    if len(password) < 8:
        raise InvalidInput("密码至少需要8位。")
    org_type, org_code = resolve_org(role, org)
    if org_type == "station" and (station_exists is None or not await station_exists(session, org_code)):
        raise InvalidInput(f"找不到驿站编码：{org_code}（请先登记驿站）")
    account = StaffAccount(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        org_type=org_type,
        org_code=org_code,
        phone_enc=encrypt_pii(_staff_phone(phone)) if phone else None,
        openid=openid.strip()[:64] if openid and openid.strip() else None,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"用户名 {username} 已存在。") from exc
    return account


def _staff_phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except ValueError as exc:
        raise InvalidInput(f"手机号码格式不正确：{raw}") from exc


def principal_of(account: StaffAccount) -> Principal:
    """The token claims of an account."""
    return Principal(
        staff_id=str(account.id),
        username=account.username,
        role=account.role,
        org_type=account.org_type,
        org_code=account.org_code,
    )


def lock_for(lockouts: int) -> timedelta:
    """How long the `lockouts`-th lock of a pair lasts: 5 minutes, then doubled, at most a day."""
    doubled: timedelta = LOCK_FOR * 2 ** max(0, min(lockouts - 1, 20))
    return min(doubled, MAX_LOCK)


async def authenticate(session: AsyncSession, username: str, password: str, source: str) -> Principal:
    """Check a password; count failures per (username, source) and lock the pair, with back-off,
    after too many. A wrong password, an unknown or inactive name and a locked pair answer the same
    `unauthorized` (after the same argon2 work): no oracle for names, no lock for others' guesses."""
    refused = Unauthorized("用户名或密码错误。")
    now = utcnow()
    source = source[:64]
    pair = await session.get(LoginFailure, (username, source), with_for_update=True)
    if pair is not None and pair.locked_until is not None and pair.locked_until > now:
        _verify(_DUMMY_HASH, password)
        raise refused
    account = await session.scalar(select(StaffAccount).where(StaffAccount.username == username))
    if account is None or not account.active:
        _verify(_DUMMY_HASH, password)
        await _count_failure(session, username, source)
        raise refused
    if not _verify(account.password_hash, password):
        # The failure count must persist although the request fails: the caller commits it.
        await _count_failure(session, username, source)
        raise refused
    if pair is not None:
        await session.delete(pair)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return principal_of(account)


async def _count_failure(session: AsyncSession, username: str, source: str) -> None:
    now = utcnow()
    row = (
        await session.execute(
            pg_insert(LoginFailure)
            .values(username=username, source=source, failures=1, lockouts=0, updated_at=now)
            .on_conflict_do_update(
                index_elements=["username", "source"],
                set_={"failures": LoginFailure.failures + 1, "updated_at": now},
            )
            .returning(LoginFailure.failures, LoginFailure.lockouts)
        )
    ).one()
    if row.failures >= MAX_FAILED_LOGINS:
        lockouts = row.lockouts + 1
        await session.execute(
            update(LoginFailure)
            .where(LoginFailure.username == username, LoginFailure.source == source)
            .values(failures=0, lockouts=lockouts, locked_until=now + lock_for(lockouts))
        )


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

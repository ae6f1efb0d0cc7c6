"""The policy catalogue in the database: seeded from ``routing.service.policies``, every edit a new version.

Versions are labelled ``<year>.<seq>`` (the shipped catalogue is ``2026.1``) and never change once
written; each appeal's triage records the version it was routed with. Edits are serialised by a
transaction-scoped advisory lock, and an editor may name the version they edited (``base_version``)
so that a concurrent edit is refused instead of silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import CatalogueChanged, UnknownPolicy
from routing.models import CataloguePolicy, CatalogueVersion
from routing.service.policies import (
    DEPARTMENTS,
    SEED_CATALOGUE,
    Catalogue,
    Policy,
)
from services.common.auth import Principal
from services.common.errors import InvalidInput, NotFound
from services.common.timeutil import SHANGHAI
from services.contracts.vocabulary import CATEGORIES_BY_KIND

_LOCK_KEY = 7_301_001  # pg_advisory_xact_lock key of catalogue edits


def _row(version: str, p: Policy) -> dict[str, Any]:
    return {
        "version": version,
        "code": p.code,
        "name": p.name,
        "department": p.department,
        "kind": p.kind,
        "category": p.category,
        "eligibility": p.eligibility,
        "materials": list(p.materials),
        "time_limit_working_days": p.time_limit_working_days,
        "keywords": list(p.keywords),
        "aliases": list(p.aliases),
    }


def policy_of(row: CataloguePolicy) -> Policy:
    """A database row as the triage rules read it."""
    return Policy(
        code=row.code,
        name=row.name,
        department=row.department,
        eligibility=row.eligibility,
        materials=tuple(row.materials),
        time_limit_working_days=row.time_limit_working_days,
        keywords=tuple(row.keywords),
        kind=row.kind,  # type: ignore[arg-type]
        category=row.category,  # type: ignore[arg-type]
        aliases=tuple(row.aliases),
    )


async def ensure_seeded(session: AsyncSession) -> None:
    """Write the shipped catalogue as version 1 if the database has none (idempotent, race-safe)."""
    if await session.scalar(select(CatalogueVersion.seq).limit(1)) is not None:
        return
    inserted = await session.execute(
        pg_insert(CatalogueVersion)
        .values(seq=1, version=SEED_CATALOGUE.version, created_by="seed", note="随系统发布的初始政策目录")
        .on_conflict_do_nothing()
        .returning(CatalogueVersion.seq)
    )
    if inserted.first() is not None:
        await session.execute(
            pg_insert(CataloguePolicy), [_row(SEED_CATALOGUE.version, p) for p in SEED_CATALOGUE.policies]
        )


_cache: dict[str, Catalogue] = {}


async def current_version(session: AsyncSession) -> CatalogueVersion:
    """The newest catalogue version (seeding the first one if needed)."""
    await ensure_seeded(session)
    found = await session.scalar(select(CatalogueVersion).order_by(CatalogueVersion.seq.desc()).limit(1))
    assert found is not None
    return found


async def load(session: AsyncSession, version: str) -> Catalogue:
    """One version, as triage reads it (versions never change, so they are cached)."""
    if version in _cache:
        return _cache[version]
    rows = (
        await session.scalars(
            select(CataloguePolicy).where(CataloguePolicy.version == version).order_by(CataloguePolicy.code)
        )
    ).all()
    if not rows and version != SEED_CATALOGUE.version:
        raise NotFound(f"政策目录版本 {version} 不存在。")
    catalogue = Catalogue(version, tuple(policy_of(r) for r in rows)) if rows else SEED_CATALOGUE
    _cache[version] = catalogue
    return catalogue


async def current_catalogue(session: AsyncSession) -> Catalogue:
    """The catalogue new appeals are routed with."""
    return await load(session, (await current_version(session)).version)


@dataclass(frozen=True)
class PolicyEdit:
    """What city staff send to create or change a policy."""

    name: str
    department: str
    kind: str
    category: str
    eligibility: str
    materials: list[str]
    time_limit_working_days: int
    keywords: list[str]
    aliases: list[str]


def _validate(code: str, edit: PolicyEdit) -> Policy:
    if edit.department not in DEPARTMENTS:
        raise InvalidInput(f"未知部门：{edit.department}")
    if edit.kind not in CATEGORIES_BY_KIND or edit.category not in CATEGORIES_BY_KIND[edit.kind]:
        raise InvalidInput(f"类别 {edit.category} 不属于 {edit.kind}。")
    if not code.startswith(edit.department + "."):
        raise InvalidInput(f"政策编码须以所属部门编码开头：{edit.department}.")
    words = [w.strip() for w in (*edit.keywords, *edit.aliases)]
    if not edit.keywords or any(not w or " " in w for w in words):
        raise InvalidInput("关键词不能为空，且不能包含空格。")
    return Policy(
        code=code,
        name=edit.name.strip(),
        department=edit.department,
        eligibility=edit.eligibility.strip(),
        materials=tuple(m.strip() for m in edit.materials if m.strip()),
        time_limit_working_days=edit.time_limit_working_days,
        keywords=tuple(w.strip() for w in edit.keywords),
        kind=edit.kind,
        category=edit.category,
        aliases=tuple(w.strip() for w in edit.aliases),
    )


async def _new_version(
    session: AsyncSession,
    principal: Principal,
    base_version: str | None,
    note: str | None,
    change: Any,
) -> tuple[CatalogueVersion, Catalogue]:
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    current = await current_version(session)
    if base_version is not None and base_version != current.version:
        raise CatalogueChanged(current_version=current.version)
    policies: list[Policy] = list((await load(session, current.version)).policies)
    policies = change(policies)
    seq = current.seq + 1
    year = datetime.now(SHANGHAI).year
    label = f"{year}.{seq}"
    version = CatalogueVersion(
        seq=seq, version=label, based_on=current.version, created_by=principal.username, note=note
    )
    session.add(version)
    await session.flush()
    await session.execute(pg_insert(CataloguePolicy), [_row(label, p) for p in policies])
    return version, Catalogue(label, tuple(sorted(policies, key=lambda p: p.code)))


async def put_policy(
    session: AsyncSession,
    principal: Principal,
    code: str,
    edit: PolicyEdit,
    *,
    base_version: str | None = None,
    note: str | None = None,
) -> tuple[CatalogueVersion, Catalogue]:
    """Create or change one policy: a new catalogue version."""
    policy = _validate(code, edit)

    def change(policies: list[Policy]) -> list[Policy]:
        return [p for p in policies if p.code != code] + [policy]

    return await _new_version(session, principal, base_version, note, change)


async def retire_policy(
    session: AsyncSession,
    principal: Principal,
    code: str,
    *,
    base_version: str | None = None,
    note: str | None = None,
) -> tuple[CatalogueVersion, Catalogue]:
    """Take a policy out of the catalogue: a new version without it."""

    def change(policies: list[Policy]) -> list[Policy]:
        kept = [p for p in policies if p.code != code]
        if len(kept) == len(policies):
            raise UnknownPolicy(f"政策目录中没有 {code}。")
        return kept

    return await _new_version(session, principal, base_version, note, change)


async def versions(session: AsyncSession) -> list[tuple[CatalogueVersion, int]]:
    """Every version, newest first, with its number of policies."""
    await ensure_seeded(session)
    counts = (
        select(CataloguePolicy.version, func.count().label("n")).group_by(CataloguePolicy.version).subquery()
    )
    rows = await session.execute(
        select(CatalogueVersion, counts.c.n)
        .join(counts, counts.c.version == CatalogueVersion.version)
        .order_by(CatalogueVersion.seq.desc())
    )
    return [(v, int(n)) for v, n in rows.all()]

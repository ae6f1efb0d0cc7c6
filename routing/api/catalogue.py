"""The policy catalogue: read any version, city staff edit (each edit a new version)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from routing.api.deps import Actor
from routing.errors import CatalogueChanged, UnknownPolicy
from routing.models import CatalogueVersion
from routing.schemas.catalogue import CatalogueView, PolicyIn, PolicyView, RetireIn, VersionView
from routing.service import catalogue as service
from routing.service.common import require_roles
from routing.service.policies import DEPARTMENTS, Catalogue
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, InvalidInput, NotFound, problem_responses

router = APIRouter(prefix="/internal/catalogue", tags=["catalogue"])


def _view(catalogue: Catalogue, version: CatalogueVersion | None) -> CatalogueView:
    return CatalogueView(
        version=catalogue.version,
        created_at=version.created_at if version else None,
        created_by=version.created_by if version else None,
        note=version.note if version else None,
        departments=DEPARTMENTS,
        policies=[
            PolicyView(
                code=p.code,
                name=p.name,
                department=p.department,
                kind=p.kind,
                category=p.category,
                eligibility=p.eligibility,
                materials=list(p.materials),
                time_limit_working_days=p.time_limit_working_days,
                keywords=list(p.keywords),
                aliases=list(p.aliases),
            )
            for p in catalogue.policies
        ],
    )


@router.get("", response_model=CatalogueView, summary="The current catalogue")
async def current(db: Db, caller: InternalCaller) -> CatalogueView:
    version = await service.current_version(db)
    return _view(await service.load(db, version.version), version)


@router.get("/versions", response_model=list[VersionView], summary="Every version, newest first")
async def versions(db: Db, caller: InternalCaller) -> list[VersionView]:
    return [
        VersionView(
            version=v.version,
            based_on=v.based_on,
            created_at=v.created_at,
            created_by=v.created_by,
            note=v.note,
            policies=n,
        )
        for v, n in await service.versions(db)
    ]


@router.get("/versions/{version}", response_model=CatalogueView, responses=problem_responses(NotFound))
async def one_version(version: str, db: Db, caller: InternalCaller) -> CatalogueView:
    await service.ensure_seeded(db)
    row = await db.scalar(select(CatalogueVersion).where(CatalogueVersion.version == version))
    if row is None:
        raise NotFound(f"政策目录版本 {version} 不存在。")
    return _view(await service.load(db, version), row)


@router.put(
    "/policies/{code}",
    response_model=CatalogueView,
    responses=problem_responses(Forbidden, InvalidInput, CatalogueChanged),
    summary="Create or change a policy (city staff): a new catalogue version",
)
async def put_policy(code: str, body: PolicyIn, db: Db, actor: Actor) -> CatalogueView:
    require_roles(actor, "city_admin")
    edit = service.PolicyEdit(**body.model_dump(exclude={"base_version", "note"}))
    version, catalogue = await service.put_policy(
        db, actor, code, edit, base_version=body.base_version, note=body.note
    )
    return _view(catalogue, version)


@router.post(
    "/policies/{code}/retirement",
    response_model=CatalogueView,
    responses=problem_responses(Forbidden, UnknownPolicy, CatalogueChanged),
    summary="Take a policy out of the catalogue (city staff): a new catalogue version",
)
async def retire_policy(code: str, body: RetireIn, db: Db, actor: Actor) -> CatalogueView:
    require_roles(actor, "city_admin")
    version, catalogue = await service.retire_policy(
        db, actor, code, base_version=body.base_version, note=body.note
    )
    return _view(catalogue, version)

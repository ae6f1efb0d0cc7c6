"""Schemathesis against the gateway's own OpenAPI document: no request makes it answer 5xx.

The document is the one the real gateway (`services/gateway/api/app.py`) serves at `/openapi.json`;
behind it run the real intake, routing, deadlines and ledger apps (in-process, on the session's
database and Redis, as in the other gateway integration tests). Only WeChat's login API is a
stand-in (`tests.fakes.wechat_code2session`), being someone else's server.

Every operation is sent schema-conforming and schema-violating requests, derandomized so a run is
repeatable, three times over: with no credentials, as a city administrator (a staff token, a real
Open311 API key in Open311 forms, a valid 12345 signature on hotline bodies) and, on the
mini-program's routes, as a resident. Each answer must not be a server error, and each 4xx must
be an RFC 9457 problem (`application/problem+json`) with a stable `code` and a Chinese `detail`,
except under `/open311/`, where GeoReport v2 prescribes its own error list. All failures of the run
are reported together, each with a curl command that reproduces it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case as AnyCase
from schemathesis import CheckContext, CheckFunction, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema

from deadlines.api.app import app as deadlines_app
from intake.api.app import app as intake_app
from ledger.api.app import app as ledger_app
from routing.api.app import app as routing_app
from routing.service.catalogue import ensure_seeded
from services.common.auth import Principal, mint_staff_token
from services.common.db import session_scope
from services.common.settings import ServiceName, get_settings
from services.gateway.api.app import app as gateway_app
from services.gateway.service import client as gateway_client
from services.gateway.service.channels.miniprogram import mint_resident_token
from services.gateway.service.identity import create_api_key
from tests.fakes.live_service import environment
from tests.fakes.wechat_code2session import FakeCode2Session

Case = AnyCase[Any]
Operation = APIOperation[Any, Any, Any, Any]
PROBLEM_JSON = "application/problem+json"
GATEWAY = "http://gateway"
# Per operation, per generation mode. Small on purpose: the run has to stay within a couple of
# minutes on a 2-core machine, and the same cases are sent under every identity.
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 8}
# A client address of our own: the rate limiter counts per address in Redis, and the fuzz run
# must neither be throttled into testing only the limiter nor leave other tests throttled.
CLIENT = ("198.51.100.7", 40000)

EXCLUDED: dict[str, str] = {
    # WeChat's XML push is accepted only with WeChat's signature over timestamp and nonce (and in
    # safe mode an AES envelope): generated requests never get past that check, so all this
    # would fuzz is the signature refusal, which `test_wechat_official.py` covers case by case.
    "POST /api/v1/channels/wechat-official": "needs WeChat's signature and envelope",
}

RESIDENT_OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
CJK = re.compile(r"[\u4e00-\u9fff]")
ADMIN = Principal(
    staff_id="5f0c2a8e-1d4b-4c8e-9a57-0f7e3b2c1d00",
    username="fuzz.city.admin",
    role="city_admin",
    org_type="city",
    org_code="city",
)


@dataclass(frozen=True)
class Identity:
    """Who sends the requests: how it rewrites a generated request before it is sent."""

    name: str
    prepare: Callable[[Case, dict[str, Any]], dict[str, Any] | None]


@dataclass
class Fuzz:
    """The loaded schema and what the identities need."""

    schema: BaseSchema
    gateway: httpx.AsyncClient
    api_key: str


# --- the world behind the gateway ----------------------------------------------------------------


@pytest.fixture(scope="module")
async def fuzz(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzz]:
    wechat = FakeCode2Session("wxf0a1b2c3d4e5f6a7", "fuzz-mini-program-secret").start()
    data_dir: Path = tmp_path_factory.mktemp("gateway-fuzz")
    env = {
        "GUANJIA_DATA_DIR": str(data_dir),
        "GUANJIA_MINIPROGRAM_APP_ID": wechat.state.app_id,
        "GUANJIA_MINIPROGRAM_SECRET": wechat.state.secret,
        "GUANJIA_WECHAT_API_BASE": wechat.base,
        "GUANJIA_WECHAT_APP_ID": "wx1234567890abcdef",
        "GUANJIA_WECHAT_TOKEN": secrets.token_hex(8),
        # WeChat's EncodingAESKey: 32 bytes in base64 without its trailing "=".
        "GUANJIA_WECHAT_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode()[:43],
        "GUANJIA_RATE_PUBLIC": "1000000/60",
        "GUANJIA_RATE_LOGIN": "1000000/60",
    }
    try:
        async with environment(env):
            upstreams: dict[ServiceName, Any] = {
                "intake": intake_app,
                "routing": routing_app,
                "deadlines": deadlines_app,
                "ledger": ledger_app,
            }
            for name, app in upstreams.items():
                # A service's own 500 must reach the gateway as a response (and be relayed), not
                # as an exception raised into the gateway's process.
                gateway_client._clients[name] = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                    base_url=f"http://{name}",
                )
            async with session_scope() as session:
                # What routing's startup does: the policy catalogue's first version.
                await ensure_seeded(session)
                api_key = await create_api_key(session, f"fuzz-{uuid.uuid4().hex[:8]}")
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway_app, raise_app_exceptions=False, client=CLIENT),
                base_url=GATEWAY,
                timeout=30,
            ) as gateway:
                served = await gateway.get("/openapi.json")
                assert served.status_code == 200, served.text
                schema = schemathesis.openapi.from_dict(served.json())
                yield Fuzz(schema=schema, gateway=gateway, api_key=api_key)
    finally:
        wechat.stop()


# --- identities ----------------------------------------------------------------------------------

CREDENTIAL_HEADERS = ("authorization", "x-donor-key")


def _without_credentials(kwargs: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in kwargs["headers"].items() if k.lower() not in CREDENTIAL_HEADERS}
    return {**kwargs, "headers": headers}


def _anonymous(case: Case, kwargs: dict[str, Any]) -> dict[str, Any]:
    return _without_credentials(kwargs)


def _city_admin(api_key: str) -> Callable[[Case, dict[str, Any]], dict[str, Any]]:
    token = mint_staff_token(ADMIN)[0]

    def prepare(case: Case, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = _without_credentials(kwargs)
        kwargs["headers"]["Authorization"] = f"Bearer {token}"
        if case.path.startswith("/open311/") and isinstance(kwargs.get("data"), dict):
            # The form's api_key is Open311's credential.
            kwargs["data"] = {**kwargs["data"], "api_key": api_key}
        return kwargs

    return prepare


def _resident(case: Case, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    if not case.path.startswith("/api/v1/miniprogram/"):
        return None  # a resident's token opens nothing else
    kwargs = _without_credentials(kwargs)
    token = mint_resident_token(RESIDENT_OPENID)[0]
    kwargs["headers"]["Authorization"] = f"Bearer {token}"
    return kwargs


def identities(api_key: str) -> list[Identity]:
    return [
        Identity("anonymous", _anonymous),
        Identity("city_admin", _city_admin(api_key)),
        Identity("resident", _resident),
    ]


def _signed_hotline(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A hotline body with a valid signature, so that the body itself gets fuzzed."""
    kwargs = dict(kwargs)
    if "json" in kwargs:
        raw = json.dumps(kwargs.pop("json"), ensure_ascii=False).encode()
    else:
        data = kwargs.pop("data", b"")
        raw = data.encode() if isinstance(data, str) else bytes(data or b"")
    timestamp = str(int(time.time()))
    secret = get_settings().require("hotline_secret").encode()
    signature = hmac.new(secret, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    kwargs["data"] = raw
    kwargs["headers"] = {**kwargs["headers"], "X-Signature-Timestamp": timestamp, "X-Signature": signature}
    return kwargs


# --- generation and sending ----------------------------------------------------------------------


def examples(operation: Operation, mode: GenerationMode, count: int) -> list[Case]:
    """`count` cases of one operation, the same ones on every run."""
    found: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Case) -> None:
        found.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing in this operation can be made invalid
        collect()
    return found


UNCONSTRAINED = ({"type": "string"}, {"type": "null"})


def can_be_invalid(operation: Operation) -> bool:
    """Whether negative generation has anything to work on; asking Hypothesis to find out costs a
    second per operation (hundreds of rejected tries), so decide from the definition."""
    definition = operation.definition.raw
    if "requestBody" in definition:
        return True
    for parameter in definition.get("parameters", []):
        if parameter.get("required") and parameter.get("in") != "path":
            return True  # it can be left out
        schema = parameter.get("schema", {})
        for option in schema.get("anyOf", [schema]):
            if {k: v for k, v in option.items() if k != "title"} not in UNCONSTRAINED:
                return True  # a type, format, pattern, range or enum to break
    return False


def to_httpx(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Request:
    """The request schemathesis would send through `requests` (its own serialisation of JSON,
    forms and multipart bodies), as an httpx request to the in-process gateway."""
    wanted = ("method", "url", "headers", "params", "json", "data", "files", "cookies")
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in wanted}).prepare()
    raw = prepared.body
    body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
    headers = {
        k: v.decode("latin-1") if isinstance(v, bytes) else v
        for k, v in prepared.headers.items()
        if k != "X-Schemathesis-TestCaseId"
    }
    return client.build_request(str(prepared.method), str(prepared.url), headers=headers, content=body)


# --- checks --------------------------------------------------------------------------------------


def problem_details(ctx: CheckContext, response: schemathesis.Response, case: Case) -> bool | None:
    """Every 4xx is RFC 9457 problem+json with a stable `code` and a Chinese `detail`; under
    `/open311/`, GeoReport v2's own error list instead."""
    if not 400 <= response.status_code < 500:
        return None
    media = response.headers.get("content-type", [""])[0]
    if case.path.startswith("/open311/"):
        if "xml" in media:
            assert b"<errors>" in response.content, f"Open311 error without <errors>: {response.text[:300]}"
        else:
            body = response.json()
            assert isinstance(body, list) and body and "code" in body[0] and "description" in body[0], (
                f"Open311 error is not GeoReport's list: {response.text[:300]}"
            )
        return None
    assert media.startswith(PROBLEM_JSON), f"4xx with content-type {media!r}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body, dict), f"problem is not an object: {response.text[:300]}"
    code = body.get("code")
    assert isinstance(code, str) and code, f"problem without a code: {response.text[:300]}"
    assert body.get("status") == response.status_code, f"problem status differs: {response.text[:300]}"
    detail = body.get("detail")
    assert isinstance(detail, str) and CJK.search(detail), f"detail not in Chinese: {response.text[:300]}"
    return None


CHECKS: list[CheckFunction] = [not_a_server_error, problem_details]


# --- the run -------------------------------------------------------------------------------------


async def test_no_operation_answers_a_server_error(fuzz: Fuzz) -> None:
    started = time.monotonic()
    failures: dict[str, str] = {}
    operations = 0
    answers: Counter[str] = Counter()
    fuzzed: set[str] = set()
    sent: set[str] = set()
    for result in fuzz.schema.get_all_operations():
        assert isinstance(result, Ok), f"schemathesis cannot read an operation: {result.err()}"
        operation = result.ok()
        if operation.label in EXCLUDED:
            continue
        operations += 1
        fuzzed.add(operation.label)
        modes = [GenerationMode.POSITIVE]
        if can_be_invalid(operation):
            modes.append(GenerationMode.NEGATIVE)
        cases = [case for mode in modes for case in examples(operation, mode, EXAMPLES[mode])]
        for identity in identities(fuzz.api_key):
            for case in cases:
                kwargs = identity.prepare(case, case.as_transport_kwargs(base_url=GATEWAY))
                if kwargs is None:
                    continue
                if operation.label == "POST /api/v1/channels/hotline-12345/calls":
                    kwargs = _signed_hotline(kwargs)
                try:
                    request = to_httpx(fuzz.gateway, kwargs)
                    response = await fuzz.gateway.send(request)
                except (UnicodeError, ValueError, httpx.InvalidURL, httpx.LocalProtocolError):
                    continue  # no HTTP client could send this request either
                answers[f"{response.status_code // 100}xx"] += 1
                sent.add(operation.label)
                try:
                    case.validate_response(response, checks=CHECKS, headers=dict(request.headers))
                except FailureGroup as exc:
                    key = f"{operation.label} [{identity.name}] {response.status_code}"
                    failures.setdefault(key, str(exc))
    took = time.monotonic() - started
    print(f"\nfuzzed {operations} operations, {answers.total()} requests in {took:.0f}s: {dict(answers)}")
    # The run must have covered what it claims: every operation of the document but the excluded
    # ones, each with requests actually answered, and both accepted and refused requests.
    documented = {r.ok().label for r in fuzz.schema.get_all_operations() if isinstance(r, Ok)}
    assert fuzzed == documented - set(EXCLUDED) and len(fuzzed) >= 130, (len(fuzzed), len(documented))
    assert not fuzzed - sent, f"operations never sent a request: {sorted(fuzzed - sent)}"
    assert answers["2xx"] > 0 and answers["4xx"] > 0 and answers.total() >= 10 * len(fuzzed), dict(answers)
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(
        f"== {key}\n{message}" for key, message in sorted(failures.items())
    )

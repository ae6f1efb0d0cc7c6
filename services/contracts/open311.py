"""Open311 GeoReport v2 documents as `/open311/v2/` serves them in JSON (the XML says the same).

Fields and their names are GeoReport's own (https://wiki.open311.org/GeoReport_v2), so existing
311 apps read them unchanged; they are declared here so `/openapi.json` types every answer.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Endpoint(BaseModel):
    """One endpoint of the discovery document."""

    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    """GET discovery."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    """A service type: one of our appeal categories."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: list[str]
    group: str


class AttributeValue(BaseModel):
    """A value of a list attribute."""

    key: str
    name: str


class Attribute(BaseModel):
    """An attribute a request of the type may carry."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue] | None = None


class ServiceDefinition(BaseModel):
    """GET services/{service_code}."""

    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    """A service request as the public may see it (a micro-wish's place and words stay private)."""

    service_request_id: str
    status: str = Field(description="open | closed")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class RequestCreated(BaseModel):
    """The answer of POST requests: the id, its token, and the 查询码 in the notice."""

    service_request_id: str
    token: str
    service_notice: str | None = None


class GeoReportError(BaseModel):
    """GeoReport's own error document entry."""

    code: int
    description: str

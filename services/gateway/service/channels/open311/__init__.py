"""Open311 GeoReport v2 (DESIGN §10): our categories as services, appeals as service requests.

Pure functions: the service catalogue and definitions, the mapping of a request to an
`AppealDraft` (channel `web_portal`, marked `"via": "open311"` in channel_extra), the mapping
of a public status to a GeoReport request, and the JSON / XML documents, errors included
(GeoReport's own `[{"code", "description"}]` list, never problem+json). Split by concern into
``catalogue``, ``new_request``, ``views`` and ``documents``; this module re-exports their public
names so that ``services.gateway.service.channels.open311`` stays the one import path.
"""

from __future__ import annotations

from services.gateway.service.channels.open311.catalogue import (
    CHANGESET,
    JURISDICTION,
    SERVICES,
    SERVICES_BY_CODE,
    SPECIFICATION,
    Service,
    definition_doc,
    discovery_doc,
    service_doc,
)
from services.gateway.service.channels.open311.documents import (
    XML_ITEMS,
    Format,
    Open311Error,
    error_list,
    to_xml,
)
from services.gateway.service.channels.open311.new_request import (
    MAX_DESCRIPTION,
    NewRequest,
    parse_new_request,
    to_draft,
)
from services.gateway.service.channels.open311.views import (
    CLOSED_STATES,
    MAX_REQUESTS,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    RequestView,
    disclosed_view,
    expected_at,
    iso,
    open_or_closed,
    public_description,
    request_doc,
)

__all__ = [
    "CHANGESET",
    "CLOSED_STATES",
    "JURISDICTION",
    "MAX_DESCRIPTION",
    "MAX_REQUESTS",
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAX",
    "SERVICES",
    "SERVICES_BY_CODE",
    "SPECIFICATION",
    "XML_ITEMS",
    "Format",
    "NewRequest",
    "Open311Error",
    "RequestView",
    "Service",
    "definition_doc",
    "disclosed_view",
    "discovery_doc",
    "error_list",
    "expected_at",
    "iso",
    "open_or_closed",
    "parse_new_request",
    "public_description",
    "request_doc",
    "service_doc",
    "to_draft",
    "to_xml",
]

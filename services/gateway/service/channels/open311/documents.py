"""GeoReport's wire format: JSON or XML documents, and its own error list.

The XML shape GeoReport clients expect (containers of repeated elements, booleans as
true/false) and the error document (`[{"code", "description"}]`, never problem+json) that
:class:`Open311Error` carries to the routes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Final, Literal

Format = Literal["json", "xml"]
# Containers of repeated elements in GeoReport's XML, and the name of each element.
XML_ITEMS: Final = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


class Open311Error(Exception):
    """An error as Open311 clients expect it: HTTP status = code, with a description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(element, key, inner)
    elif isinstance(value, list):
        item_tag = XML_ITEMS.get(tag, "item")
        for inner in value:
            _fill(element, item_tag, inner)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, body: dict[str, Any] | list[Any]) -> bytes:
    """A GeoReport XML document: `root` wraps a list's items or a document's fields."""
    element = ET.Element(root)
    if isinstance(body, list):
        item_tag = XML_ITEMS.get(root, "item")
        for item in body:
            _fill(element, item_tag, item)
    else:
        for key, value in body.items():
            _fill(element, key, value)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def error_list(code: int, description: str) -> list[dict[str, Any]]:
    """GeoReport's error document."""
    return [{"code": code, "description": description}]

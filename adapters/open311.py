"""Open311 GeoReport v2 POST service requests -> InboundReport, and the spec's response shapes.

Decisions (the spec leaves them open):
- A location is required: lat+long together, address_string, or address_id. The spec's own
  example sends lat/long *and* address_string, so several forms together are accepted.
- ``description`` may be empty when at least one attribute was answered; the report text
  is then built from the service name and the answered attributes (so dedupe has words).
- Attributes not in the service definition are ignored and noted in ``defects``.
- ``api_key`` is the transport's business; it never reaches ``extra``.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Literal, Mapping
from urllib.parse import urlsplit

from adapters.base import AdapterError, Attachment, InboundReport
from adapters.values import datetime_value, form_value, one_line, text_value, type_name

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
MAX_DESCRIPTION = 4000  # the spec's limit
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_XML_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class AttributeDef:
    """One question of a service definition."""

    code: str
    datatype: str = "string"
    required: bool = False
    description: str = ""
    order: int = 0
    values: list[tuple[str, str]] = field(default_factory=list)
    variable: bool = True  # False: informational text only, never answered

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise ValueError(f"unknown Open311 datatype {self.datatype!r}")

    def as_dict(self) -> dict[str, Any]:
        """Render in the spec's service-definition shape."""
        return {
            "variable": self.variable, "code": self.code, "datatype": self.datatype,
            "required": self.required, "datatype_description": None, "order": self.order,
            "description": self.description,
            "values": [{"key": key, "name": name} for key, name in self.values],
        }


@dataclass(frozen=True)
class ServiceDef:
    """One service a jurisdiction offers, with its attribute questions."""

    code: str
    name: str
    description: str = ""
    attributes: list[AttributeDef] = field(default_factory=list)
    group: str = ""
    keywords: str = ""

    def as_service(self) -> dict[str, Any]:
        """Render in the spec's service-list shape."""
        return {
            "service_code": self.code, "service_name": self.name, "description": self.description,
            "metadata": bool(self.attributes), "type": "realtime", "keywords": self.keywords,
            "group": self.group,
        }

    def as_definition(self) -> dict[str, Any]:
        """Render in the spec's service-definition shape."""
        ordered = sorted(self.attributes, key=lambda attribute: attribute.order)
        return {"service_code": self.code, "attributes": [a.as_dict() for a in ordered]}


def _single(form: Mapping[str, Any], key: str, max_len: int = 500) -> str | None:
    return text_value(form_value(form, key), key, max_len=max_len)


def _values(form: Mapping[str, Any], key: str) -> list[str]:
    value = form.get(key)
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(items) > 100:
        raise AdapterError(key, "too many values")
    out = []
    for item in items:
        text = text_value(item, key, max_len=500)
        if text is not None:
            out.append(text)
    return out


def _coordinate(form: Mapping[str, Any], key: str, limit: float) -> float | None:
    text = _single(form, key, max_len=40)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise AdapterError(key, f"not a number: {text!r}") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise AdapterError(key, f"out of range: {text!r}")
    return number


def _answers(
    form: Mapping[str, Any], service: ServiceDef, defects: list[str]
) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE.match(key) if isinstance(key, str) else None
        if match:
            given.setdefault(match.group(1), []).extend(_values(form, key))
    known = {attribute.code: attribute for attribute in service.attributes if attribute.variable}
    for code in sorted(set(given) - set(known))[:20]:
        defects.append(f"unknown attribute {code[:40]} ignored")
    answers: dict[str, Any] = {}
    for code, attribute in known.items():
        values = given.get(code, [])
        name = f"attribute[{code}]"
        if not values:
            if attribute.required:
                raise AdapterError(name, f"required: {attribute.description or code}")
            continue
        answers[code] = _answer(attribute, values, name)
    return answers


def _answer(attribute: AttributeDef, values: list[str], name: str) -> Any:
    keys = {str(key) for key, _ in attribute.values}
    if attribute.datatype == "multivaluelist":
        unknown = [value for value in values if value not in keys]
        if unknown:
            raise AdapterError(name, f"not a listed value: {unknown[0]!r}")
        return list(dict.fromkeys(values))
    if len(values) > 1:
        raise AdapterError(name, "expects a single value")
    value = values[0]
    if attribute.datatype == "singlevaluelist":
        if value not in keys:
            raise AdapterError(name, f"not a listed value: {value!r}")
        return value
    if attribute.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            raise AdapterError(name, f"not a number: {value!r}") from None
        if not math.isfinite(number):
            raise AdapterError(name, f"not a finite number: {value!r}")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if attribute.datatype == "datetime":
        moment = datetime_value(value, name)
        return moment.isoformat() if moment else None
    return value


def _value_name(attribute: AttributeDef, value: Any) -> str:
    names = {str(key): name for key, name in attribute.values}
    if isinstance(value, list):
        return "、".join(names.get(str(item), str(item)) for item in value)
    return names.get(str(value), str(value))


def parse_request(
    form: Mapping[str, list[str]], services: Mapping[str, ServiceDef], raw: bytes = b""
) -> InboundReport:
    """Translate a form-encoded GeoReport v2 POST /requests into a report (see module notes)."""
    if not isinstance(form, Mapping):
        raise AdapterError("form", f"expected form fields, got {type_name(form)}")
    code = _single(form, "service_code", max_len=100)
    if code is None:
        raise AdapterError("service_code", "required")
    service = services.get(code)
    if service is None:
        raise AdapterError("service_code", f"unknown service {code!r}")
    lat = _coordinate(form, "lat", 90)
    lon = _coordinate(form, "long", 180)
    if (lat is None) != (lon is None):
        raise AdapterError("long" if lon is None else "lat", "lat and long must be sent together")
    address = _single(form, "address_string")
    address_id = _single(form, "address_id", max_len=100)
    if lat is None and address is None and address_id is None:
        raise AdapterError("location", "send lat and long, address_string, or address_id")
    defects: list[str] = []
    answers = _answers(form, service, defects)
    description = text_value(form_value(form, "description"), "description", max_len=MAX_DESCRIPTION, multiline=True)
    if description is None:
        if not answers:
            raise AdapterError("description", "required when no attribute is answered")
        by_code = {attribute.code: attribute for attribute in service.attributes}
        lines = [service.name] + [
            f"{by_code[c].description or c}: {_value_name(by_code[c], v)}" for c, v in answers.items()
        ]
        description = "\n".join(one_line(line) for line in lines)
        defects.append("no description; text built from attributes")
    media_url = _single(form, "media_url", max_len=2000)
    attachments = []
    if media_url:
        parts = urlsplit(media_url) if len(media_url) < 2000 else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdapterError("media_url", "expected an http(s) URL")
        filename = parts.path.rsplit("/", 1)[-1] or "media"
        attachments.append(Attachment(filename=filename[:200], url=media_url))
    names = [_single(form, "first_name", 100), _single(form, "last_name", 100)]
    extra: dict[str, Any] = {"service_code": code, "attributes": answers}
    for key in ("jurisdiction_id", "device_id", "account_id"):
        value = _single(form, key, max_len=200)
        if value:
            extra[key] = value
    if address_id:
        extra["address_id"] = address_id
    return InboundReport(
        channel="open311",
        text=description,
        external_id=None,
        name=" ".join(name for name in names if name) or None,
        phone=_single(form, "phone", max_len=40),
        email=_single(form, "email", max_len=254),
        address=address,
        lat=lat,
        lon=lon,
        category_hint=service.name,
        attachments=attachments,
        defects=defects,
        extra=extra,
        raw=raw,
    )


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return _XML_BAD_CHARS.sub("", str(value))


def _fill(element: ET.Element, key: str, value: Any) -> None:
    if not _XML_NAME.match(key) or key.lower().startswith("xml"):
        raise AdapterError(key[:60], "not a valid XML element name")
    child = ET.SubElement(element, key)
    if isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _fill(child, str(sub_key), sub_value)
    elif isinstance(value, (list, tuple)):
        item_tag = key[:-1] if key.endswith("s") and len(key) > 1 else "item"
        for item in value:
            _fill(child, item_tag, item)
    else:
        child.text = _scalar(value)


def _serialize(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def to_xml(root_tag: str, item_tag: str, items: Iterable[Mapping[str, Any]]) -> str:
    """Render items as <root><item>...</item></root>; lists nest as <values><value>...; None is empty."""
    if not _XML_NAME.match(root_tag) or not _XML_NAME.match(item_tag):
        raise AdapterError("root_tag", "not a valid XML element name")
    root = ET.Element(root_tag)
    for item in items:
        element = ET.SubElement(root, item_tag)
        for key, value in item.items():
            _fill(element, str(key), value)
    return _serialize(root)


def to_xml_document(root_tag: str, data: Mapping[str, Any]) -> str:
    """Render one object as <root>...</root> (the service definition's shape)."""
    if not _XML_NAME.match(root_tag):
        raise AdapterError("root_tag", "not a valid XML element name")
    root = ET.Element(root_tag)
    for key, value in data.items():
        _fill(root, str(key), value)
    return _serialize(root)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(items: Any) -> str:
    """Render the spec's JSON shapes (arrays of objects, or one object); datetimes as ISO 8601."""
    return json.dumps(items, ensure_ascii=False, default=_json_default)


def render_error(code: int, description: str, fmt: Literal["xml", "json"] = "xml") -> str:
    """Render the spec's error body: <errors><error><code/><description/></error></errors> or its JSON array."""
    error = {"code": int(code), "description": description}
    if fmt == "xml":
        return to_xml("errors", "error", [error])
    if fmt == "json":
        return to_json([error])
    raise AdapterError("format", f"unknown response format {fmt!r}; expected xml or json")

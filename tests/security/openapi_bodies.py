"""A small, valid example of an OpenAPI schema: enough for a request to pass validation and reach its handler."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import NonInteractiveExampleWarning

FUTURE = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def _string(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    fmt = schema.get("format")
    if fmt == "date-time":
        return FUTURE.isoformat()
    if fmt == "date":
        return FUTURE.date().isoformat()
    if fmt in ("uri", "url"):
        return "https://example.com/a.png"
    if "pattern" in schema:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonInteractiveExampleWarning)
            for _ in range(20):
                found: str = st.from_regex(schema["pattern"], fullmatch=True).example()
                if schema.get("minLength", 0) <= len(found) <= schema.get("maxLength", 10**6):
                    return found
    return "x" * max(1, min(schema.get("minLength", 1), schema.get("maxLength", 4), 4))


def example(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    schema = _resolve(spec, schema)
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema.get("default") is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(spec, o).get("type") != "null"]
            return example(spec, options[0]) if options else None
    if "allOf" in schema:
        return example(spec, schema["allOf"][0])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example(spec, props[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [example(spec, schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return int(max(low, 1)) if schema.get("maximum", 10**9) >= 1 else int(low)
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "string" or "enum" in schema:
        return _string(schema)
    return None


def body_for(spec: dict[str, Any], op: dict[str, Any]) -> Any:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return example(spec, content["application/json"].get("schema", {}))

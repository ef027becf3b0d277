"""The OpenAPI document of the admin API, generated from the app's own route table.

Each admin handler carries an :class:`Operation` (summary, role, request and response models);
:func:`document` walks ``app.router`` and describes every route whose handler has one, with the
JSON schemas pydantic generates for those models. A route cannot exist undocumented, nor a
documented route be missing, because there is no second list to drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from assistant.admin.models import ErrorOut

REF_TEMPLATE = "#/components/schemas/{model}"
MULTIPART = "multipart"

_ERROR_TEXT = {
    400: "The body is not valid JSON or multipart",
    401: "Missing or unknown token",
    403: "The token's role may not do this (viewer writing)",
    404: "Unknown knowledge base, record, version or question",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Invalid fields; `fields` / `problems` say which and why",
}


@dataclass(frozen=True)
class Operation:
    """How one route is documented; attached to its handler as ``__openapi__``."""

    summary: str
    tag: str
    role: str | None = None  # None: no token needed
    description: str = ""
    body: type[BaseModel] | str | None = None  # a model, MULTIPART, or None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    path_types: dict[str, str] = field(default_factory=dict)  # path parameter -> JSON type


def operation_of(handler: Any) -> Operation | None:
    return getattr(handler, "__openapi__", None)


def documented_routes(app: web.Application) -> Iterable[tuple[str, str, Operation]]:
    """(method, path, operation) of every route in ``app`` whose handler is documented."""
    for route in app.router.routes():
        op = operation_of(route.handler)
        if op is None or route.method == "HEAD":  # aiohttp adds HEAD next to every GET
            continue
        path = route.resource.canonical if route.resource is not None else ""
        yield route.method.lower(), path, op


def document(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    routes = sorted(documented_routes(app), key=lambda r: (r[1], r[0]))
    wanted: list[tuple[type[BaseModel], str]] = [(ErrorOut, "serialization")]
    for _, _, op in routes:
        if isinstance(op.body, type):
            wanted.append((op.body, "validation"))
        if op.query is not None:
            wanted.append((op.query, "validation"))
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    wanted = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(wanted, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = top.get("$defs", {})

    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in routes:
        paths.setdefault(path, {})[method] = _operation(op, path, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Staff API of the knowledge base: records, uploads, file sync, search, version "
                "history and unanswered shopper questions. Send `Authorization: Bearer <token>`; "
                "editor tokens may write, viewer tokens only read. Errors are JSON "
                '`{"error": "...", "fields": [...], "problems": [...]}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(
    op: Operation,
    path: str,
    refs: dict[tuple[type[BaseModel], str], dict[str, Any]],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": op.path_types.get(name, "string")},
        }
        for name in re.findall(r"{(\w+)}", path)
    ]
    if op.query is not None:
        query = schemas[_name(refs[(op.query, "validation")])]
        required = set(query.get("required", ()))
        for name, schema in query.get("properties", {}).items():
            schema = dict(schema)
            description = schema.pop("description", None)
            parameter = {"name": name, "in": "query", "required": name in required}
            parameter["schema"] = schema
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    result: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": _operation_id(op, path),
    }
    if op.description:
        result["description"] = op.description
    if parameters:
        result["parameters"] = parameters
    if op.body == MULTIPART:
        result["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                                "description": "one or more knowledge files; the name's "
                                "suffix decides the format (yaml, json, jsonl, csv, xlsx, md)",
                            }
                        },
                        "required": ["file"],
                    }
                }
            },
        }
    elif isinstance(op.body, type):
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    ok: dict[str, Any] = {"description": "OK" if op.status == 200 else "Created"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    responses: dict[str, Any] = {str(op.status): ok}
    errors = set(op.errors)
    if op.role is not None:
        errors.add(401)
        if op.role == "editor":
            errors.add(403)
        result["security"] = [{"bearer": []}]
    else:
        result["security"] = []
    if op.body is not None:
        errors.update({400, 413, 422} if op.body != MULTIPART else {400, 413})
    if op.query is not None:
        errors.add(422)
    error_ref = refs[(ErrorOut, "serialization")]
    for code in sorted(errors):
        responses[str(code)] = {
            "description": _ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": error_ref}},
        }
    result["responses"] = responses
    return result


def _name(ref: dict[str, Any]) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


def _operation_id(op: Operation, path: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", op.summary.lower()).strip("_")
    return words or re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")

"""JSON error answers for the app's HTTP APIs: a clear message, never a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

MAX_JSON_BYTES = 64 * 1024


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """JSON with Chinese written as characters, not \\u escapes, so replies read as sent."""
    return web.json_response(data, status=status, dumps=_dumps)


def error(status: int, message: str, **details: Any) -> web.Response:
    return json_response({"error": message, **details}, status=status)


class BadRequest(Exception):
    """A request the caller can fix; carries the HTTP answer to give."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text)
        self.response = response


async def read_json(
    request: web.Request, model: type[Model], *, limit: int = MAX_JSON_BYTES
) -> Model:
    """Parse and validate a JSON body of at most ``limit`` bytes against ``model`` or raise
    BadRequest with why."""
    if request.content_length is not None and request.content_length > limit:
        raise BadRequest(error(413, f"request body larger than {limit} bytes"))
    raw = await request.read()
    if len(raw) > limit:
        raise BadRequest(error(413, f"request body larger than {limit} bytes"))
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise BadRequest(error(400, f"body is not valid UTF-8 JSON: {problem}")) from problem
    try:
        return model.model_validate(body)
    except ValidationError as problem:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
            for e in problem.errors()
        ]
        raise BadRequest(
            error(422, "request does not match the expected fields", fields=fields)
        ) from problem


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn BadRequest into its answer and any unexpected error into a plain 500 message."""
    try:
        return await handler(request)
    except BadRequest as bad:
        return bad.response
    except web.HTTPException:
        raise
    except Exception:  # noqa: BLE001 - the log has the traceback, the caller a clear message
        logging.getLogger("assistant.http").exception("unhandled error on %s", request.path)
        return error(500, "internal error; it has been logged")

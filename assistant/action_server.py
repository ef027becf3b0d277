"""Rasa's action endpoint (`POST /webhook`), running the project's rasa-sdk actions in the app."""

from __future__ import annotations

import json
import logging
import time

from aiohttp import web
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from assistant.http_errors import error, json_response

logger = logging.getLogger("assistant.actions")


class ActionEndpoint:
    """Speaks the rasa-sdk action protocol, so Rasa sees an ordinary action server."""

    def __init__(self, package: str = "actions") -> None:
        self.executor = ActionExecutor()
        self.executor.register_package(package)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/webhook", self.webhook),
            web.get("/actions", self.list_actions),
        ]

    async def list_actions(self, _: web.Request) -> web.Response:
        return web.json_response([{"name": name} for name in sorted(self.executor.actions)])

    async def webhook(self, request: web.Request) -> web.Response:
        try:
            action_call = json.loads(await request.read())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return error(400, "Invalid body request")
        if not isinstance(action_call, dict):
            return error(400, "Invalid body request")
        name = action_call.get("next_action")
        started = time.perf_counter()
        try:
            result = await self.executor.run(action_call)
        except ActionExecutionRejection as rejection:
            return web.json_response(
                {"error": rejection.message, "action_name": rejection.action_name}, status=400
            )
        except ActionNotFoundException as missing:
            logger.error("unknown action %s", missing.action_name)
            return web.json_response(
                {"error": missing.message, "action_name": missing.action_name}, status=404
            )
        body = result.model_dump() if result is not None else {"events": [], "responses": []}
        logger.debug("action %s ran in %.1f ms", name, (time.perf_counter() - started) * 1000)
        return json_response(body)

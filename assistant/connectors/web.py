"""The local web group chat (the playground): a page with several shoppers in two groups, and
the JSON API it posts to.

The page sends every group message, addressed or not: ``mentioned`` says whether the shopper
@-mentioned the assistant (as a platform's mention metadata would), and the shared group layer
decides whether to answer — the same keyword rules and product-question policy as on any
platform. Clients that only send what is meant for the assistant can leave ``mentioned`` out.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.aftersales.media import MediaUnavailable
from assistant.aftersales.photos import PhotoRejected, check_photo
from assistant.groupchat.pipeline import GroupChat
from assistant.http_errors import BadRequest, error, json_response, read_json
from assistant.messages import IncomingMessage, OutgoingReply

PLATFORM = "web"
STATIC_DIR = Path(__file__).resolve().parent.parent / "web"
# A web photo upload, decoded, and the whole request carrying it (under the app's 1 MiB cap).
MAX_WEB_PHOTO_BYTES = 700 * 1024
MAX_SEND_BYTES = 1_000_000
# Uploaded photos kept for the photo action to fetch (it runs while the request is answered).
KEPT_UPLOADS = 32


# What the page shows when an upload is refused (zh and en: the page is for both).
_UPLOAD_ERRORS = {
    "photo_empty": "图片是空的,请重新选择 / The picture is empty; choose it again.",
    "photo_not_image": "只能发送图片(JPG、PNG、GIF、WebP、HEIC)/ Only pictures can be sent "
    "(JPG, PNG, GIF, WebP, HEIC).",
    "photo_too_large": "图片太大(上限 {kb} KB)/ The picture is too large (limit {kb} KB).",
}


class ChatSend(BaseModel):
    """Body of ``POST /api/chat/send``: one shopper's message in a web group."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    chat_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    user_name: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=20_000)
    # Did the shopper @-mention the assistant? Defaults to yes, for clients that only send
    # messages meant for it; the playground sends false for ordinary group chatter.
    mentioned: bool = Field(default=True, strict=True)
    # A photo, base64 (a ``data:image/...;base64,`` URL is fine): what a platform's image
    # message is elsewhere. The page shrinks photos to fit MAX_WEB_PHOTO_BYTES first.
    image: str | None = Field(default=None, max_length=MAX_SEND_BYTES)


def reply_json(reply: OutgoingReply) -> dict[str, object]:
    """A reply as the page shows it: group replies @-mention the shopper."""
    shown = reply.text if reply.private else f"@{reply.to_user_name} {reply.text}"
    return {
        "text": shown,
        "to_user": reply.to_user,
        "to_user_name": reply.to_user_name,
        "private": reply.private,
    }


class ChatUpdates(BaseModel):
    """Query of ``GET /api/chat/updates``: replies for a web group after sequence ``after``
    (left out: none, only the current sequence number, where a freshly opened page starts)."""

    model_config = ConfigDict(extra="forbid")

    chat_id: str = Field(min_length=1, max_length=128)
    after: int | None = Field(default=None, ge=0)


class WebOutbox:
    """Replies sent to the web chat outside a shopper's request (staff answering a hand-off),
    kept in memory per group until the page polls them. Sequence numbers only grow, so a page
    asking ``after=<last seen>`` never gets one twice; old replies fall off after ``keep``."""

    def __init__(self, keep: int = 200) -> None:
        self._sequence = itertools.count(1)
        self._keep = keep
        self._by_chat: dict[str, deque[tuple[int, OutgoingReply]]] = {}

    def push(self, reply: OutgoingReply) -> int:
        """Queue ``reply`` for its group's page; returns its sequence number."""
        number = next(self._sequence)
        queue = self._by_chat.setdefault(reply.chat_id, deque(maxlen=self._keep))
        queue.append((number, reply))
        return number

    def since(self, chat_id: str, after: int) -> list[tuple[int, OutgoingReply]]:
        return [(n, r) for n, r in self._by_chat.get(chat_id, ()) if n > after]

    def last(self) -> int:
        """The newest sequence number of any group (a page starts polling after it)."""
        newest = [queue[-1][0] for queue in self._by_chat.values() if queue]
        return max(newest, default=0)


class WebConnector:
    """Serves the web group chat; every message goes through the shared group layer."""

    name = PLATFORM

    def __init__(self, chat: GroupChat) -> None:
        self.chat = chat
        self._uploads: OrderedDict[str, bytes] = OrderedDict()
        self.outbox = WebOutbox()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/api/chat/info", self.info),
            web.post("/api/chat/send", self.send),
            web.get("/api/chat/updates", self.updates),
        ]

    async def page(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "chat.html")

    async def info(self, _: web.Request) -> web.Response:
        """What the page needs to behave like the group layer: the assistant's names (a message
        naming one is a mention) and the web groups' rules (keywords, product questions)."""
        rules = self.chat.rules
        prefix = f"{PLATFORM}:"
        groups = {
            key[len(prefix) :]: {
                "product_questions": policy.product_questions,
                "keywords": [*rules.keywords, *policy.keywords],
            }
            for key, policy in rules.groups.items()
            if key.startswith(prefix)
        }
        return json_response(
            {
                "assistant_name": rules.assistant_names[0] if rules.assistant_names else "",
                "assistant_names": list(rules.assistant_names),
                "keywords": list(rules.keywords),
                "groups": groups,
            }
        )

    @staticmethod
    def parse(body: ChatSend, attachments: list[dict[str, Any]] | None = None) -> IncomingMessage:
        return IncomingMessage(
            platform=PLATFORM,
            chat_id=body.chat_id,
            chat_type="group",
            sender_id=body.user_id,
            sender_name=body.user_name,
            text=body.text,
            message_id=uuid.uuid4().hex,
            mentions_assistant=body.mentioned,
            attachments=attachments or [],
        )

    async def send(self, request: web.Request) -> web.Response:
        body = await read_json(request, ChatSend, limit=MAX_SEND_BYTES)
        attachments = [self._keep_upload(body.image)] if body.image else []
        replies = await self.chat.handle(self.parse(body, attachments))
        return json_response({"replies": [reply_json(r) for r in replies]})

    def _keep_upload(self, encoded: str) -> dict[str, Any]:
        """Check an uploaded photo and keep it for :meth:`fetch_media`; a file that is not an
        image, or too large, is refused here with a message the page shows."""
        _, _, payload = encoded.rpartition(",")  # drop a data: URL's header if present
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as problem:
            raise BadRequest(error(422, "image is not valid base64", code="photo_bad")) from problem
        try:
            photo = check_photo(data, max_bytes=MAX_WEB_PHOTO_BYTES)
        except PhotoRejected as rejected:
            message = _UPLOAD_ERRORS[rejected.code].format(kb=MAX_WEB_PHOTO_BYTES // 1024)
            raise BadRequest(error(422, message, code=rejected.code)) from rejected
        upload_id = uuid.uuid4().hex
        self._uploads[upload_id] = photo.data
        while len(self._uploads) > KEPT_UPLOADS:
            self._uploads.popitem(last=False)
        return {"kind": "image", "ref": upload_id, "content_type": photo.content_type}

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """A photo uploaded with a message (kept in memory: the page is a local playground)."""
        data = self._uploads.get(str(attachment.get("ref")))
        if data is None:
            raise MediaUnavailable("the uploaded photo is no longer kept; upload it again")
        return data

    async def updates(self, request: web.Request) -> web.Response:
        """Replies staff sent to a group since ``after`` (the page polls this)."""
        try:
            query = ChatUpdates.model_validate(dict(request.query))
        except ValidationError as problem:
            fields = [{"field": str(e["loc"][0]), "problem": e["msg"]} for e in problem.errors()]
            return error(422, "expected ?chat_id=<group>&after=<number>", fields=fields)
        if query.after is None:
            return json_response({"replies": [], "last": self.outbox.last()})
        found = self.outbox.since(query.chat_id, query.after)
        return json_response(
            {
                "replies": [{**reply_json(reply), "seq": n, "staff": True} for n, reply in found],
                "last": max([n for n, _ in found], default=query.after),
            }
        )

"""WeChat Customer Service (微信客服): shoppers on personal WeChat chatting with a brand's
customer-service account, the official way to reach them.

WeCom's callback only says "there is something new" (Event ``kf_msg_or_event`` with a Token and
the OpenKfId); the messages themselves are pulled with ``/cgi-bin/kf/sync_msg`` from a cursor kept
in the database, so nothing is pulled twice or missed across restarts. Answers go back through
``/cgi-bin/kf/send_msg``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from assistant.config import REPO_ROOT
from assistant.connectors.base import Connector, DeliveryFailed, Inbound, RequestRejected
from assistant.connectors.wecom_common import (
    CallbackCrypto,
    WeComAPI,
    WeComSettings,
    acknowledge,
    split_text,
    xml_fields,
)
from assistant.messages import IncomingMessage, OutgoingReply

__all__ = ["CursorStore", "WeChatKfConnector", "WeChatKfSettings"]

log = logging.getLogger("assistant.connectors")

# sync_msg's origin of a message the customer wrote (4: system event, 5: an agent's message).
FROM_CUSTOMER = 3
# A guard against an answer that keeps saying has_more without moving on.
MAX_PAGES_PER_CALLBACK = 200


def default_state_url() -> str:
    """The app database the defaults use (``SIYU_DATABASE_URL``, else SQLite in the data dir)."""
    if os.environ.get("SIYU_DATABASE_URL"):
        return os.environ["SIYU_DATABASE_URL"]
    data_dir = Path(os.environ.get("SIYU_DATA_DIR") or REPO_ROOT / ".var")
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'commerce.db'}"


class WeChatKfSettings(WeComSettings):
    """``connectors.wechat_kf`` in assistant.yml: the corp, the WeChat Customer Service secret,
    the callback's Token / EncodingAESKey, and where the sync cursors are kept."""

    # Database for the sync_msg cursors; empty: the app database (see default_state_url).
    state_url: str = ""
    # Messages per sync_msg call (WeCom's maximum is 1000).
    sync_limit: int = Field(1000, ge=1, le=1000)


cursor_tables = MetaData()
cursor_table = Table(
    "wechat_kf_cursor",
    cursor_tables,
    # "" when the callback named no account (older callbacks): one cursor for all accounts.
    Column("open_kfid", String(64), primary_key=True),
    Column("cursor", String(128), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class CursorStore:
    """The ``next_cursor`` of each customer-service account, saved once its messages are stored."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, future=True)
        cursor_tables.create_all(self.engine)

    def load(self, open_kfid: str) -> str:
        query = select(cursor_table.c.cursor).where(cursor_table.c.open_kfid == open_kfid)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none() or ""

    def save(self, open_kfid: str, previous: str, cursor: str) -> bool:
        """Move ``open_kfid`` from ``previous`` to ``cursor``; False when another pull moved it
        meanwhile (its messages are stored too; a later pull re-reads and the inbox drops the
        repeats, so nothing is lost either way)."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as connection:
            moved = connection.execute(
                sql_update(cursor_table)
                .where(cursor_table.c.open_kfid == open_kfid, cursor_table.c.cursor == previous)
                .values(cursor=cursor, updated_at=now)
            ).rowcount
            if moved or previous:
                return bool(moved)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(cursor_table).values(open_kfid=open_kfid, cursor=cursor, updated_at=now)
                )
        except IntegrityError:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()


class SyncUnavailable(RequestRejected):
    """sync_msg failed before anything was pulled: 503 makes WeCom post the callback again."""

    status = 503


class _SaveCursorWhenAnswered(web.Response):
    """WeCom's acknowledgement that saves the new cursor as it is sent.

    The gateway hands every pulled message to the group layer (which stores it) before it
    answers the platform, so saving here keeps the order "stored, then cursor saved". If the
    answer is never sent, the cursor stays and the next pull reads those messages again.
    """

    def __init__(self, store: CursorStore, open_kfid: str, previous: str, cursor: str) -> None:
        super().__init__(text="success")
        self._save: tuple[CursorStore, str, str, str] | None = (store, open_kfid, previous, cursor)

    async def prepare(self, request: web.BaseRequest) -> Any:
        if self._save is not None:
            store, open_kfid, previous, cursor = self._save
            self._save = None
            try:
                saved = await asyncio.to_thread(store.save, open_kfid, previous, cursor)
            except Exception as error:  # noqa: BLE001 - a lost save only means a re-read
                saved = False
                log.error(
                    "wechat_kf cursor not saved",
                    extra={"platform": "wechat_kf", "open_kfid": open_kfid, "error": str(error)},
                )
            if not saved:
                log.info(
                    "wechat_kf cursor moved by another pull",
                    extra={"platform": "wechat_kf", "open_kfid": open_kfid},
                )
        return await super().prepare(request)


class WeChatKfConnector(Connector):
    """WeChat Customer Service: every conversation is one shopper with one account."""

    name = "wechat_kf"
    supports_private = True
    settings_model = WeChatKfSettings

    def __init__(self, settings: WeChatKfSettings) -> None:
        super().__init__(settings)
        self.settings: WeChatKfSettings = settings
        self.callback = CallbackCrypto(settings)
        self.api = WeComAPI(settings)
        self.cursors = CursorStore(settings.state_url or default_state_url())

    async def receive(self, request: web.Request) -> Inbound:
        callback = await self.callback.open(request)
        if callback.echo is not None:
            return Inbound(response=web.Response(text=callback.echo))
        fields = xml_fields(callback.xml)
        if fields.get("MsgType") != "event" or fields.get("Event") != "kf_msg_or_event":
            log.info(
                "wechat_kf callback ignored",
                extra={"platform": self.name, "type": fields.get("Event") or fields.get("MsgType")},
            )
            return Inbound(response=acknowledge("success"))
        open_kfid = str(fields.get("OpenKfId") or "")
        previous = await asyncio.to_thread(self.cursors.load, open_kfid)
        messages, cursor = await self._pull(open_kfid, str(fields.get("Token") or ""), previous)
        if cursor == previous:
            return Inbound(messages=messages, response=acknowledge("success"))
        response = _SaveCursorWhenAnswered(self.cursors, open_kfid, previous, cursor)
        return Inbound(messages=messages, response=response)

    async def _pull(
        self, open_kfid: str, token: str, cursor: str
    ) -> tuple[list[IncomingMessage], str]:
        """Everything after ``cursor`` (following has_more) and the cursor to save after it."""
        messages: list[IncomingMessage] = []
        for page in range(MAX_PAGES_PER_CALLBACK):
            body: dict[str, Any] = {"cursor": cursor, "limit": self.settings.sync_limit}
            if token:  # without it WeCom applies a much stricter frequency limit
                body["token"] = token
            if open_kfid:
                body["open_kfid"] = open_kfid
            try:
                answer = await self.api.post("/cgi-bin/kf/sync_msg", body)
            except DeliveryFailed as failure:
                if page == 0:
                    raise SyncUnavailable(f"sync_msg failed: {failure.reason}") from failure
                # Keep what was pulled; the rest comes with the next callback from this cursor.
                log.warning(
                    "wechat_kf sync_msg stopped early",
                    extra={"platform": self.name, "open_kfid": open_kfid, "error": failure.reason},
                )
                break
            messages += [m for m in map(self.parse, answer.get("msg_list") or []) if m]
            next_cursor = str(answer.get("next_cursor") or cursor)
            more = bool(answer.get("has_more")) and next_cursor != cursor
            cursor = next_cursor
            if not more:
                break
        log.info(
            "wechat_kf pulled",
            extra={"platform": self.name, "open_kfid": open_kfid, "count": len(messages)},
        )
        return messages, cursor

    def parse(self, item: dict[str, Any]) -> IncomingMessage | None:
        """A customer's text or image message from sync_msg's msg_list; ``None`` for anything
        else (events, agents' own messages, voice the assistant cannot read)."""
        if not isinstance(item, dict) or item.get("origin") != FROM_CUSTOMER:
            return None
        text = (item.get("text") or {}).get("content") if item.get("msgtype") == "text" else None
        attachments = []
        media_id = (
            (item.get("image") or {}).get("media_id") if item.get("msgtype") == "image" else None
        )
        if isinstance(media_id, str) and media_id:
            text, attachments = "", [{"kind": "image", "ref": media_id}]
        msgid, user, account = item.get("msgid"), item.get("external_userid"), item.get("open_kfid")
        if not (isinstance(text, str) and msgid and user and account):
            log.info(
                "wechat_kf message ignored",
                extra={"platform": self.name, "type": item.get("msgtype"), "msgid": msgid},
            )
            return None
        return IncomingMessage(
            platform=self.name,
            chat_id=str(account),
            chat_type="private",
            sender_id=str(user),
            sender_name=str(user),
            text=text,
            message_id=str(msgid),
            context={"open_kfid": str(account)},
            attachments=attachments,
        )

    async def fetch_media(self, attachment: Mapping[str, Any]) -> bytes:
        """An image the customer sent, by its media_id (``media/get``, as for WeCom apps)."""
        return await self.api.media(str(attachment["ref"]))

    async def send(self, reply: OutgoingReply) -> None:
        """``kf/send_msg`` from the account (the chat id) to the shopper."""
        for piece in split_text(reply.text):
            await self.api.post(
                "/cgi-bin/kf/send_msg",
                {
                    "touser": reply.to_user,
                    "open_kfid": reply.chat_id,
                    "msgtype": "text",
                    "text": {"content": piece},
                },
            )

    async def close(self) -> None:
        await self.api.close()
        self.cursors.close()

"""After-sales tickets: offer one after a return check, create it on "yes", tell its status,
and keep the shopper's photos with it. Order details stay in private replies."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, latest_text, say
from assistant.advisor.orders import return_text
from assistant.aftersales.media import MediaUnavailable, media_fetchers
from assistant.aftersales.photos import MAX_PHOTOS_PER_TICKET, PhotoRejected
from assistant.aftersales.service import (
    AfterSales,
    aftersales_for,
    claim_kind,
    ticket_id_in,
)
from assistant.aftersales.store import Ticket
from assistant.aftersales.texts import aftersales_text, kind_label, status_label
from assistant.commerce.models import CHINA_TIME, Order
from assistant.commerce.returns import QUALITY_ISSUE_WINDOW, ReturnAssessment, ReturnRules
from assistant.groupchat.pipeline import PHOTO_INTENT
from assistant.language import Language, detect_language
from assistant.messages import person_of
from assistant.runtime import services

log = logging.getLogger(__name__)

AWAITING = "return_ticket"


def _request_text(tracker: Tracker) -> str:
    """The shopper's words that asked for the return (the order form's turns carry only the
    order number and digits): the latest message with a return intent or return words."""
    from actions.orders import _RETURN_WORDS  # actions.orders imports this module

    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        said = event.get("text") or ""
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent == "return_request" or _RETURN_WORDS.search(said) or claim_kind(said) != "return":
            return said
    return latest_text(tracker)


def _last_day(assessment: ReturnAssessment) -> str:
    """The last day of the window, China time (the deadline is the midnight after it)."""
    if assessment.deadline is None:
        return ""
    return (assessment.deadline - timedelta(seconds=1)).astimezone(CHINA_TIME).date().isoformat()


def _eligibility_text(
    order: Order,
    rules: ReturnRules,
    assessment: ReturnAssessment,
    kind: str,
    now: datetime,
    language: Language,
) -> str:
    """Why the order can (or cannot) be claimed, for the kind of claim asked for."""
    if kind != "quality":
        return return_text(order, rules, now, language)
    if assessment.reason == QUALITY_ISSUE_WINDOW:
        return aftersales_text(
            "quality_eligible", language, order_id=order.order_id, deadline=_last_day(assessment)
        )
    if assessment.deadline is not None:  # delivered, but the quality window has closed
        return aftersales_text(
            "quality_expired", language, order_id=order.order_id, days=rules.quality_issue_days
        )
    return return_text(order, rules, now, language)  # not delivered, cancelled...


def answer_return(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    order: Order,
    rules: ReturnRules,
    language: Language,
) -> list[EventType]:
    """Say privately whether the verified order can be returned (or claimed for quality) and,
    when it can, offer to submit the ticket: ``awaiting`` is then ``return_ticket``."""
    now = datetime.now(timezone.utc)
    kind = claim_kind(_request_text(tracker))
    assessment = AfterSales.assess(order, rules, now, kind)
    reply = _eligibility_text(order, rules, assessment, kind, now, language)
    say(dispatcher, reply, private=True, order_id=order.order_id)
    if not assessment.eligible:
        return []
    say(dispatcher, aftersales_text("ticket_offer", language, kind=kind_label(kind, language)))
    return [SlotSet("awaiting", AWAITING)]


def on_ticket_confirm(
    tracker: Tracker, dispatcher: CollectingDispatcher, yes: bool
) -> list[EventType]:
    """The shopper's answer to the ticket offer: on yes, a ticket for the verified order
    (re-checked now), its id said privately with the order; on no, nothing is submitted."""
    from actions.orders import _return_rules  # actions.orders imports this module

    language = language_of(tracker)
    done: list[EventType] = [SlotSet("awaiting", None)]
    if not yes:
        say(dispatcher, aftersales_text("ticket_declined", language))
        return done
    app = services()
    order_id = tracker.get_slot("verified_order_id")
    order = app.commerce.get_order(order_id) if order_id else None
    if order is None:
        say(dispatcher, aftersales_text("ticket_need_order", language))
        return done
    request = _request_text(tracker)
    kind = claim_kind(request)
    now = datetime.now(timezone.utc)
    rules = _return_rules(tracker)
    try:
        submission = aftersales_for(app).submit(
            order, rules, now, conversation_id=tracker.sender_id, kind=kind, reason=request
        )
    except Exception:  # noqa: BLE001 - the shopper gets a clear message, the log the cause
        log.exception("after-sales ticket could not be created")
        say(dispatcher, aftersales_text("ticket_failed", language))
        return done
    ticket = submission.ticket
    if ticket is None:  # no longer eligible (the window closed since the offer, ...)
        reply = _eligibility_text(order, rules, submission.assessment, kind, now, language)
        say(dispatcher, reply, private=True, order_id=order.order_id)
        return done
    # A new ticket, or the order's open one: both say its id (extra values are ignored).
    reply = aftersales_text(
        "ticket_created" if submission.created else "ticket_exists",
        language,
        kind=kind_label(ticket.kind, language),
        status=status_label(ticket.status, language),
        ticket_id=ticket.ticket_id,
        order_id=order.order_id,
    )
    say(dispatcher, reply, private=True, order_id=order.order_id, ticket_id=ticket.ticket_id)
    return [*done, SlotSet("last_ticket_id", ticket.ticket_id)]


def _status_text(aftersales: AfterSales, ticket: Ticket, language: Language) -> str:
    updated = ticket.updated_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")
    reply = aftersales_text(
        "ticket_status",
        language,
        ticket_id=ticket.ticket_id,
        order_id=ticket.order_id,
        kind=kind_label(ticket.kind, language),
        status=status_label(ticket.status, language),
        updated=updated,
    )
    latest = aftersales.tickets.history(ticket.ticket_id)[-1]
    if latest.actor != "shopper" and latest.note:
        reply += aftersales_text("ticket_status_note", language, note=latest.note)
    return reply


class ActionTicketStatus(Action):
    """ "我的售后进度": the named ticket, else the one from this conversation, else the newest;
    only ever the shopper's own."""

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        aftersales = aftersales_for(services())
        named = ticket_id_in(latest_text(tracker))
        ticket = aftersales.ticket_for(
            person_of(tracker.sender_id),
            ticket_id=named,
            remembered=tracker.get_slot("last_ticket_id"),
        )
        if ticket is None:
            if named:
                say(dispatcher, aftersales_text("ticket_not_found", language, ticket_id=named))
            else:
                say(dispatcher, aftersales_text("ticket_none", language))
            return []
        reply = _status_text(aftersales, ticket, language)
        say(dispatcher, reply, private=True, order_id=ticket.order_id, ticket_id=ticket.ticket_id)
        return [SlotSet("last_ticket_id", ticket.ticket_id)]


def _photo_language(tracker: Tracker) -> Language:
    """The words sent with the photos; a bare ``/send_photo`` is no English, so then the
    conversation's language."""
    said = latest_text(tracker)
    default: Language = "en" if tracker.get_slot("language") == "en" else "zh"
    return default if said == PHOTO_INTENT else detect_language(said, default=default)


def _rejection_text(problem: PhotoRejected, ticket: Ticket, language: Language, limit: int) -> str:
    if problem.code == "photo_limit":
        return aftersales_text(
            "photo_limit", language, ticket_id=ticket.ticket_id, limit=MAX_PHOTOS_PER_TICKET
        )
    if problem.code == "photo_too_large":
        return aftersales_text("photo_too_large", language, limit=limit // (1024 * 1024))
    return aftersales_text(problem.code, language)


class ActionAttachPhoto(Action):
    """Photos the shopper sent, fetched from their platform and kept with their open ticket."""

    def name(self) -> str:
        return "action_attach_photo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = _photo_language(tracker)
        metadata = tracker.latest_message.get("metadata") or {}
        attachments = [a for a in metadata.get("attachments") or [] if isinstance(a, Mapping)]
        aftersales = aftersales_for(services())
        ticket = aftersales.open_ticket_of(person_of(tracker.sender_id))
        if ticket is None:
            say(dispatcher, aftersales_text("photo_no_ticket", language))
            return []
        if not attachments:
            say(dispatcher, aftersales_text("photo_unavailable", language))
            return []
        platform = str(metadata.get("platform") or tracker.sender_id.split(":", 1)[0])
        saved, problems = 0, []
        for attachment in attachments:
            if attachment.get("kind") != "image":
                problems.append(aftersales_text("photo_not_image", language))
                continue
            try:
                data = await media_fetchers.fetch(platform, attachment)
                _, new = aftersales.add_photo(ticket, data, source=platform)
            except MediaUnavailable as missing:
                log.warning(
                    "photo not fetched", extra={"platform": platform, "error": str(missing)}
                )
                problems.append(aftersales_text("photo_unavailable", language))
                continue
            except PhotoRejected as problem:
                limit = aftersales.tickets.max_photo_bytes
                problems.append(_rejection_text(problem, ticket, language, limit))
                continue
            saved += int(new)
            if not new:
                problems.append(
                    aftersales_text("photo_duplicate", language, ticket_id=ticket.ticket_id)
                )
        if saved:
            say(
                dispatcher,
                aftersales_text("photo_saved", language, count=saved, ticket_id=ticket.ticket_id),
            )
        for problem_text in dict.fromkeys(problems):  # each distinct problem said once
            say(dispatcher, problem_text)
        return [SlotSet("last_ticket_id", ticket.ticket_id)]

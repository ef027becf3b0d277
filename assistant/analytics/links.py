"""Tracked product links: ``<link_base>/go/<token>`` opens the product and counts the click.

Off unless ``analytics.link_base`` is configured, so replies stay exactly as they are. The
redirect is served by :mod:`assistant.admin.analytics_api`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from assistant.analytics.store import open_store
from assistant.language import Language

logger = logging.getLogger("assistant.analytics")


# One line per product under a recommendation reply (shopper-facing: Chinese and English).
LINK_LINE: dict[Language, str] = {"zh": "· {name} 详情:{url}", "en": "· {name}: {url}"}


def link_url(link_base: str, token: str) -> str:
    return f"{link_base.rstrip('/')}/go/{token}"


def tracked_links(
    settings: Any, conversation_id: str, product_ids: Iterable[str], kb: str = "default"
) -> dict[str, str]:
    """A short tracked link per product (product id -> URL); empty when tracking is off.

    A failure to make a link only loses the link, never the reply it would have been part of.
    """
    base = settings.analytics.link_base.strip()
    if not base:
        return {}
    store = open_store(settings.commerce_url, settings.analytics.timezone)
    made: dict[str, str] = {}
    try:
        for product_id in dict.fromkeys(p for p in product_ids if p):
            made[product_id] = link_url(base, store.make_link(conversation_id, product_id, kb))
    except Exception:  # noqa: BLE001 - see docstring
        logger.exception("could not make tracked product links")
    return made


def links_text(links: dict[str, str], names: dict[str, str], language: Language) -> str:
    """The lines to append to a recommendation reply ("" when there are no links)."""
    template = LINK_LINE["en" if language == "en" else "zh"]
    return "\n".join(
        template.format(name=names.get(product_id) or product_id, url=url)
        for product_id, url in links.items()
    )

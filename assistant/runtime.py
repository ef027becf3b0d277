"""The services the app and its Rasa actions share, created once when the app starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.advisor.answers import Advisor
    from assistant.commerce.sql import SqlCommerce
    from assistant.commerce.verification import OrderVerifier
    from assistant.config import Settings


@dataclass
class Services:
    """One knowledge base, one commerce store, and what is built on them."""

    settings: Settings
    knowledge: Any
    advisor: Advisor
    commerce: SqlCommerce
    verifier: OrderVerifier


_current: Services | None = None


class ServicesNotReady(RuntimeError):
    """An action ran before the app configured its services."""


def configure(services: Services) -> None:
    global _current
    _current = services


def services() -> Services:
    """The running app's services; actions call this instead of building their own."""
    if _current is None:
        raise ServicesNotReady("the assistant app has not started its services yet")
    return _current

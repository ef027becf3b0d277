"""Outgoing compliance: advertising-law wording rules and personal-data masking.

Kept import-light on purpose: :mod:`assistant.logs` imports :mod:`.masking` for every log line,
so nothing here pulls in SQLAlchemy or YAML until the guard itself is built.

- :mod:`.masking`: mask mobile numbers, ID card numbers, e-mails and street addresses.
- :mod:`.rules`: the staff-edited ``compliance.yml`` (load, validate, reload on change).
- :mod:`.guard`: :class:`~.guard.OutgoingGuard` applies both to a reply; :func:`.guard.check_text`
  lets other parts (knowledge ingest) warn staff about wording before it is ever said.
- :mod:`.store`: the ``compliance_log`` table staff review.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``from assistant.compliance import check_text`` without importing the guard eagerly."""
    if name in ("check_text", "OutgoingGuard", "Finding"):
        from assistant.compliance import guard

        return getattr(guard, name)
    raise AttributeError(name)

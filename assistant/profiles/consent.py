"""What a shopper agreed to when they let the assistant keep their skin profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

# Bump when the consent notice (texts "profile_consent_ask") promises something new: a profile
# stored under an older version is still shown, and the shopper is asked again.
CONSENT_VERSION: Final = "2025-11"


class ConsentRequired(PermissionError):
    """A profile was to be stored for a person who has not agreed to it."""


@dataclass(frozen=True)
class Consent:
    """When, to which notice version, and in which conversation the shopper said yes."""

    granted_at: datetime
    version: str
    source_conversation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "granted_at": self.granted_at.isoformat(),
            "version": self.version,
            "source_conversation": self.source_conversation,
        }

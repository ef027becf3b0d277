"""Shopper skin profiles, one per person (``platform:user_id``), stored only with consent.

Rows live in the app database (``settings.commerce_url``: SQLite by default, PostgreSQL by URL)
in ``shopper_profiles``; ``privacy_audit`` keeps a content-free record of every deletion.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text, select

from assistant.commerce.sql_engine import SqlDatabase, insert_if_absent
from assistant.commerce.sql_schema import UtcDateTime
from assistant.profiles.consent import CONSENT_VERSION, Consent, ConsentRequired

metadata = MetaData()

profiles_table = Table(
    "shopper_profiles",
    metadata,
    Column("person_id", String(255), primary_key=True),
    Column("skin_type", String(32)),
    Column("concerns", Text, nullable=False),  # JSON list of canonical values
    Column("sensitive", Boolean),
    Column("allergies", Text, nullable=False),  # JSON list, e.g. ["fragrance", "nuts"]
    Column("pregnant_or_nursing", Boolean),
    Column("language", String(8)),
    Column("consent_granted_at", UtcDateTime, nullable=False),
    Column("consent_version", String(32), nullable=False),
    Column("consent_source", String(512), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Who asked, when, and how many rows went: never what they said or what their profile was.
audit_table = Table(
    "privacy_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(16), nullable=False),  # delete
    Column("person_id", String(255), nullable=False),
    Column("requested_by", String(512), nullable=False),
    Column("counts", Text, nullable=False),  # JSON {"messages": 12, ...}
    Index("ix_privacy_audit_person", "person_id"),
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ShopperProfile:
    """What a shopper told the consultation about their skin; None means "not said"."""

    skin_type: str | None = None
    concerns: tuple[str, ...] = ()
    sensitive: bool | None = None
    allergies: tuple[str, ...] = ()
    pregnant_or_nursing: bool | None = None
    language: str | None = None

    def merged_into(self, stored: ShopperProfile) -> ShopperProfile:
        """This newer profile over ``stored``: said values win, allergies add up.

        An allergy once told is kept until the shopper deletes their data: forgetting one
        could put an ingredient they react to back into a recommendation.
        """
        return ShopperProfile(
            skin_type=self.skin_type or stored.skin_type,
            concerns=self.concerns or stored.concerns,
            sensitive=stored.sensitive if self.sensitive is None else self.sensitive,
            allergies=tuple(dict.fromkeys(stored.allergies + self.allergies)),
            pregnant_or_nursing=(
                stored.pregnant_or_nursing
                if self.pregnant_or_nursing is None
                else self.pregnant_or_nursing
            ),
            language=self.language or stored.language,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "skin_type": self.skin_type,
            "concerns": list(self.concerns),
            "sensitive": self.sensitive,
            "allergies": list(self.allergies),
            "pregnant_or_nursing": self.pregnant_or_nursing,
            "language": self.language,
        }


@dataclass(frozen=True)
class StoredProfile:
    """A person's profile with the consent it was stored under."""

    person_id: str
    profile: ShopperProfile
    consent: Consent
    updated_at: datetime
    current: bool = True  # consent given to the notice shown today

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            **self.profile.as_dict(),
            "consent": self.consent.as_dict(),
            "consent_current": self.current,
            "updated_at": self.updated_at.isoformat(),
        }


class ProfileStore:
    """Read and write shopper profiles; writing without consent raises :class:`ConsentRequired`.

    ``url`` is a SQLAlchemy URL; ``schema`` puts the tables in a PostgreSQL schema.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.database = SqlDatabase(url, [metadata], schema=schema)
        self._clock = clock

    def close(self) -> None:
        self.database.close()

    def get(self, person_id: str) -> StoredProfile | None:
        """The person's stored profile, or None if they never agreed to keep one."""
        with self.database.read() as conn:
            row = conn.execute(
                select(profiles_table).where(profiles_table.c.person_id == person_id)
            ).first()
        return None if row is None else _stored(row)

    def consented(self, person_id: str) -> StoredProfile | None:
        """The profile, only if its consent was given to the current notice."""
        stored = self.get(person_id)
        return stored if stored is not None and stored.current else None

    def grant(self, person_id: str, profile: ShopperProfile, consent: Consent) -> StoredProfile:
        """Store ``profile`` with the consent just given (over any older profile of the person)."""
        now = self._clock()
        stored = self.get(person_id)
        if stored is not None:
            profile = profile.merged_into(stored.profile)
        values = {**_columns(profile), **_consent_columns(consent), "updated_at": now}
        with self.database.write() as conn:
            if not insert_if_absent(conn, profiles_table, {"person_id": person_id, **values}):
                conn.execute(
                    profiles_table.update()
                    .where(profiles_table.c.person_id == person_id)
                    .values(**values)
                )
        found = self.get(person_id)
        assert found is not None
        return found

    def update(self, person_id: str, profile: ShopperProfile) -> bool:
        """Update a consented profile with what the shopper said now; True if anything changed.

        Raises :class:`ConsentRequired` if the person has not agreed to the current notice.
        """
        stored = self.consented(person_id)
        if stored is None:
            raise ConsentRequired(f"{person_id} has not agreed to keep a profile")
        merged = profile.merged_into(stored.profile)
        if merged == stored.profile:
            return False
        with self.database.write() as conn:
            conn.execute(
                profiles_table.update()
                .where(profiles_table.c.person_id == person_id)
                .values(**_columns(merged), updated_at=self._clock())
            )
        return True

    def summary(self, person_id: str) -> dict[str, Any] | None:
        """The profile as the staff console shows it, or None."""
        stored = self.get(person_id)
        return None if stored is None else stored.as_dict()

    def deletions(self, person_id: str | None = None) -> list[dict[str, Any]]:
        """The audit of data deletions, oldest first (optionally of one person)."""
        query = select(audit_table).order_by(audit_table.c.id)
        if person_id is not None:
            query = query.where(audit_table.c.person_id == person_id)
        with self.database.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {**row, "at": row["at"].isoformat(), "counts": json.loads(row["counts"])}
            for row in rows
        ]


def _columns(profile: ShopperProfile) -> dict[str, Any]:
    return {
        "skin_type": profile.skin_type,
        "concerns": json.dumps(list(profile.concerns)),
        "sensitive": profile.sensitive,
        "allergies": json.dumps(list(profile.allergies)),
        "pregnant_or_nursing": profile.pregnant_or_nursing,
        "language": profile.language,
    }


def _consent_columns(consent: Consent) -> dict[str, Any]:
    return {
        "consent_granted_at": consent.granted_at,
        "consent_version": consent.version,
        "consent_source": consent.source_conversation[:512],
    }


def _stored(row: Any) -> StoredProfile:
    profile = ShopperProfile(
        skin_type=row.skin_type,
        concerns=tuple(json.loads(row.concerns)),
        sensitive=row.sensitive,
        allergies=tuple(json.loads(row.allergies)),
        pregnant_or_nursing=row.pregnant_or_nursing,
        language=row.language,
    )
    consent = Consent(row.consent_granted_at, row.consent_version, row.consent_source)
    return StoredProfile(
        row.person_id,
        profile,
        consent,
        row.updated_at,
        current=row.consent_version == CONSENT_VERSION,
    )

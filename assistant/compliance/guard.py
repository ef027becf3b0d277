"""The outgoing guard: every reply is checked against the wording rules and, when the whole
group can read it, has personal data masked; every change is logged and kept for review.

Order of work on one reply:

1. ``block`` rules run on the original text; any match replaces the whole reply with a safe
   sentence (``compliance_blocked`` in texts.py) in the reply's language.
2. Otherwise ``rewrite`` rules run in file order, each on the text the previous one left.
3. Group replies (not private ones: those are for the shopper alone) have mobile numbers,
   ID numbers, e-mails and street addresses masked.

All of it is a handful of precompiled regexes per reply; only a changed reply costs a database
write, done by the caller off the event loop (:meth:`OutgoingGuard.record`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.compliance.masking import mask_with_kinds
from assistant.compliance.rules import Finding, RuleSet, RulesFile, Subject
from assistant.compliance.store import ComplianceLog, snippet
from assistant.language import Language, detect_language
from assistant.texts import text as sentence

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.messages import OutgoingReply

logger = logging.getLogger("assistant.compliance")

DEFAULT_RULES_PATH = Path(__file__).resolve().parents[2] / "compliance.yml"
LOG_SNIPPET_CHARS = 300
PERSONAL_DATA = "personal_data"


@dataclass(frozen=True)
class GuardResult:
    """What the guard made of one text."""

    original: str
    text: str
    findings: list[Finding] = field(default_factory=list)
    # Kinds of personal data masked ("mobile", "id_card", "email", "address").
    masked: list[str] = field(default_factory=list)
    blocked: bool = False

    @property
    def changed(self) -> bool:
        return self.text != self.original

    @property
    def action(self) -> str:
        """The strongest thing done: block > rewrite > mask."""
        if self.blocked:
            return "block"
        return "rewrite" if self.findings else "mask"

    @property
    def rule_ids(self) -> list[str]:
        ids = [f.rule_id for f in self.findings] + [f"mask:{kind}" for kind in self.masked]
        return list(dict.fromkeys(ids))

    @property
    def categories(self) -> list[str]:
        found = [f.category for f in self.findings] + ([PERSONAL_DATA] if self.masked else [])
        return list(dict.fromkeys(found))


def apply_rules(rules: RuleSet, text: str) -> tuple[str, list[Finding], bool]:
    """``text`` after the rules, the findings, and whether a block rule matched.

    Findings of block rules carry positions in ``text``; those of rewrite rules, positions in
    the text as that rule saw it (after the rules before it).
    """
    subject = Subject(text)
    blocks = [f for rule in rules.rules if rule.action == "block" for f in rule.findings(subject)]
    if blocks:
        return text, blocks, True
    findings: list[Finding] = []
    for rule in rules.rules:
        if rule.action != "rewrite":
            continue
        found = rule.findings(subject)
        if not found:
            continue
        findings.extend(found)
        pieces, last = [], 0
        for finding in found:
            pieces += [text[last : finding.start], finding.replacement or ""]
            last = finding.end
        text = "".join(pieces) + text[last:]
        subject = Subject(text)
    return text, findings, False


class OutgoingGuard:
    """Checks and fixes outgoing replies; records what it changed."""

    def __init__(
        self,
        rules: RulesFile | None = None,
        *,
        log: ComplianceLog | None = None,
        enabled: bool = True,
    ) -> None:
        self.rules_file = rules if rules is not None else RulesFile(DEFAULT_RULES_PATH)
        self.log = log
        self.enabled = enabled

    @classmethod
    def from_settings(cls, settings: Settings) -> OutgoingGuard:
        """The guard the app uses: ``compliance.*`` settings, review log in the app database."""
        return cls(
            RulesFile(settings.compliance.rules_path),
            log=ComplianceLog(settings.commerce_url),
            enabled=settings.compliance.enabled,
        )

    @property
    def rules(self) -> RuleSet:
        return self.rules_file.rules

    def check_text(self, text: str) -> list[Finding]:
        """Every wording problem in ``text`` (positions in ``text``), changing nothing."""
        subject = Subject(text)
        return [f for rule in self.rules.rules for f in rule.findings(subject)]

    def apply(self, text: str, language: Language | None = None, *, mask: bool) -> GuardResult:
        """``text`` as it may be said; ``mask``: the whole group will read it."""
        if not self.enabled or not text:
            return GuardResult(text, text)
        new, findings, blocked = apply_rules(self.rules, text)
        if blocked:
            language = language or detect_language(text)
            return GuardResult(text, sentence("compliance_blocked", language), findings, [], True)
        masked: list[str] = []
        if mask:
            new, masked = mask_with_kinds(new)
        return GuardResult(text, new, findings, masked, False)

    def check_replies(
        self, replies: list[OutgoingReply], language: Language | None = None
    ) -> tuple[list[OutgoingReply], list[GuardResult]]:
        """The replies as they may be sent, and what was changed (to :meth:`record`)."""
        if not self.enabled:
            return replies, []
        out, changes = [], []
        for reply in replies:
            # Private replies, and everything in a private chat, are for the shopper alone.
            shared = reply.chat_type == "group" and not reply.private
            result = self.apply(reply.text, language, mask=shared)
            if result.changed:
                changes.append(result)
                reply = replace(reply, text=result.text)
            out.append(reply)
        return out, changes

    def record(self, conversation_id: str, changes: list[GuardResult], language: str) -> None:
        """Log each change and keep it in ``compliance_log``; a failing database write is
        logged, never raised (the reply still goes out, already fixed)."""
        for change in changes:
            logger.warning(
                "reply changed by the compliance guard",
                extra={
                    "conversation_id": conversation_id,
                    "compliance_action": change.action,
                    "rule_ids": change.rule_ids,
                    "categories": change.categories,
                    "before": snippet(change.original, LOG_SNIPPET_CHARS),
                    "after": snippet(change.text, LOG_SNIPPET_CHARS),
                },
            )
            if self.log is None:
                continue
            try:
                self.log.record(
                    conversation_id,
                    change.action,
                    change.rule_ids,
                    change.categories,
                    language,
                    change.original,
                    change.text,
                )
            except Exception:  # noqa: BLE001 - the review log must not stop a reply
                logger.exception(
                    "compliance change could not be stored",
                    extra={"conversation_id": conversation_id},
                )


_checkers: dict[Path, RulesFile] = {}


def check_text(text: str, rules_path: Path | None = None) -> list[Finding]:
    """Wording problems in ``text`` under the rules file (default: ``compliance.yml`` at the
    repo root), for warning staff when they write knowledge, before a shopper ever sees it."""
    path = Path(rules_path or DEFAULT_RULES_PATH).resolve()
    rules = _checkers.get(path)
    if rules is None:
        rules = _checkers[path] = RulesFile(path)
    subject = Subject(text)
    return [f for rule in rules.rules.rules for f in rule.findings(subject)]

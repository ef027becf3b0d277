"""Build the app's services from settings: embedding model, knowledge base, commerce store."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from assistant.advisor.answers import Advisor, Thresholds
from assistant.commerce.seed import ProductRef, seed_if_empty
from assistant.commerce.sql import SqlCommerce
from assistant.commerce.verification import OrderVerifier
from assistant.config import Settings
from assistant.knowledge.base import KnowledgeBase, open_knowledge_base
from assistant.knowledge.embedding import Embedder, ensure_default_model
from assistant.knowledge.loader import load_records
from assistant.runtime import Services

logger = logging.getLogger("assistant.bootstrap")


def load_embedder(settings: Settings) -> Embedder:
    """The configured sentence-transformers model, or the offline default."""
    return Embedder(settings.knowledge.embedding_model or ensure_default_model())


def sync_knowledge(knowledge: KnowledgeBase, settings: Settings) -> None:
    """Bring the knowledge base in line with the files staff edit (only changed records)."""
    records = load_records(settings.knowledge.directory)
    report = knowledge.sync(records)
    logger.info("knowledge synced: %s", report.summary())


def build_services(settings: Settings) -> Services:
    """Everything actions need; slow parts (model load, first sync) happen here, once."""
    embedder = load_embedder(settings)
    knowledge = open_knowledge_base(settings.data_dir / "chroma", settings.knowledge.name, embedder)
    sync_knowledge(knowledge, settings)
    commerce = SqlCommerce(settings.commerce_url)
    products = [
        ProductRef(p.id, p.name_zh, p.name_en, p.price) for p in knowledge.records("product")
    ]
    seeded = seed_if_empty(commerce, products, datetime.now(timezone.utc))
    if seeded:
        logger.info("seeded %d demo orders", seeded)
    advisor = Advisor(
        knowledge,
        Thresholds(
            product=settings.knowledge.product_similarity, faq=settings.knowledge.faq_similarity
        ),
    )
    return Services(
        settings=settings,
        knowledge=knowledge,
        advisor=advisor,
        commerce=commerce,
        verifier=OrderVerifier(commerce),
    )

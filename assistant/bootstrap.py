"""Build the app's services from settings: embedding model, knowledge base, commerce store."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import urlparse

import chromadb

from assistant.advisor.answers import Advisor, Thresholds
from assistant.analytics.store import open_store as open_analytics
from assistant.commerce.promotion_desk import PromotionDesk
from assistant.commerce.seed import ProductRef, seed_if_empty
from assistant.commerce.sql import SqlCommerce
from assistant.commerce.verification import OrderVerifier
from assistant.config import REPO_ROOT, Settings
from assistant.feedback.unanswered import UnansweredLog
from assistant.knowledge.base import open_knowledge_base
from assistant.knowledge.embedding import Embedder, ensure_default_model
from assistant.knowledge.history import VersionLog
from assistant.knowledge.library import KnowledgeLibrary
from assistant.knowledge.store import chroma_settings
from assistant.profiles.privacy import PrivacyService
from assistant.profiles.store import ProfileStore
from assistant.profiles.trackers import RasaTrackerEraser, rasa_tracker_store_url
from assistant.runtime import Services

logger = logging.getLogger("assistant.bootstrap")


def load_embedder(settings: Settings) -> Embedder:
    """The configured sentence-transformers model, or the offline default."""
    return Embedder(
        settings.knowledge.embedding_model or ensure_default_model(),
        quantized_queries=settings.knowledge.quantized_queries,
    )


def chroma_client(settings: Settings) -> chromadb.ClientAPI | None:
    """A client of the configured Chroma server, or None for the embedded store."""
    if not settings.knowledge.chroma_url:
        return None
    url = urlparse(settings.knowledge.chroma_url)
    return chromadb.HttpClient(
        host=url.hostname or "localhost",
        port=url.port or 8000,
        ssl=url.scheme == "https",
        settings=chroma_settings(),
    )


def open_library(settings: Settings, embedder: Embedder | None = None) -> KnowledgeLibrary:
    """Every configured knowledge base, each in its own collection, with one version log."""
    embedder = embedder or load_embedder(settings)
    client = chroma_client(settings)
    folder = settings.data_dir / "chroma"
    configured = {settings.knowledge.name: settings.knowledge.directory}
    configured.update({n: b.directory for n, b in settings.knowledge.bases.items()})
    bases = {
        name: (open_knowledge_base(folder, name, embedder, client=client), directory)
        for name, directory in configured.items()
    }
    return KnowledgeLibrary(
        bases,
        VersionLog(settings.commerce_url),
        default=settings.knowledge.name,
        groups=settings.knowledge.groups,
    )


def open_privacy(settings: Settings) -> tuple[ProfileStore, PrivacyService]:
    """Shopper profiles and the export/delete service over the app database.

    Rasa's tracker store is found in the endpoints file Rasa runs with: the data directory's
    own (test and demo stacks write one there), else the repository's.
    """
    profiles = ProfileStore(settings.commerce_url)
    endpoints = settings.data_dir / "endpoints.yml"
    if not endpoints.exists():
        endpoints = REPO_ROOT / "endpoints.yml"
    eraser = RasaTrackerEraser(
        settings.rasa.url, tracker_store_url=rasa_tracker_store_url(endpoints, REPO_ROOT)
    )
    privacy = PrivacyService(
        settings.commerce_url,
        profiles,
        eraser=eraser,
        exports_dir=settings.data_dir / "exports",
        # What the person asked, as staff analytics recorded it, goes with their history.
        sources=[open_analytics(settings.commerce_url, settings.analytics.timezone)],
    )
    return profiles, privacy


def build_services(settings: Settings) -> Services:
    """Everything actions need; slow parts (model load, first sync) happen here, once."""
    library = open_library(settings)
    library.start()
    knowledge = library.base(library.default)
    commerce = SqlCommerce(settings.commerce_url)
    products = [
        ProductRef(p.id, p.name_zh, p.name_en, p.price) for p in knowledge.records("product")
    ]
    seeded = seed_if_empty(commerce, products, datetime.now(timezone.utc))
    if seeded:
        logger.info("seeded %d demo orders", seeded)
    profiles, privacy = open_privacy(settings)
    thresholds = Thresholds(
        product=settings.knowledge.product_similarity, faq=settings.knowledge.faq_similarity
    )
    return Services(
        settings=settings,
        knowledge=knowledge,
        advisor=Advisor(knowledge, thresholds),
        commerce=commerce,
        verifier=OrderVerifier(commerce),
        library=library,
        advisors={name: Advisor(library.base(name), thresholds) for name in library.names()},
        unanswered=UnansweredLog(settings.commerce_url),
        promotions=PromotionDesk.open(
            settings.commerce_url,
            settings.promotions.campaigns_path,
            settings.promotions.lifecycle_path,
        ),
        profiles=profiles,
        privacy=privacy,
    )

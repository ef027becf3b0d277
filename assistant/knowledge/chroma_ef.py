"""The Chroma embedding function we attach to our collections, registered so they reopen offline."""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function


class EmbedderLike(Protocol):
    """The part of :class:`assistant.knowledge.embedding.Embedder` the knowledge base uses."""

    @property
    def model_name(self) -> str: ...
    @property
    def dimension(self) -> int: ...
    def embed_queries(self, texts: list[str]) -> np.ndarray: ...
    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


@register_embedding_function
class SiyuEmbeddingFunction(EmbeddingFunction[Documents]):
    """Wraps our embedder for Chroma.

    We always hand Chroma precomputed vectors, so this function is rarely called; it exists
    because Chroma persists the name and config of a collection's embedding function and, when
    none is attached, tries to download its default ONNX model (impossible offline). Being
    registered under a fixed name lets Chroma rebuild it from the stored config when a persisted
    collection is reopened; the model itself then loads lazily, only if something calls it.
    """

    def __init__(
        self,
        embedder: EmbedderLike | None = None,
        model_name: str | None = None,
        model_path: str | None = None,
    ) -> None:
        self._embedder = embedder
        self._model_name = model_name or (embedder.model_name if embedder else "")
        # Where to load the model from if Chroma ever needs this function after a reopen;
        # without it the offline default model is used.
        self._model_path = model_path
        self._lock = threading.Lock()

    @staticmethod
    def name() -> str:
        return "siyu_sentence_transformer"

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self._load().embed_passages(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed_query(self, input: Documents) -> Embeddings:
        vectors = self._load().embed_queries(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def _load(self) -> EmbedderLike:
        with self._lock:
            if self._embedder is None:
                from assistant.knowledge.embedding import Embedder, ensure_default_model

                self._embedder = Embedder(self._model_path or ensure_default_model())
            return self._embedder

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {"model_name": self._model_name, "model_path": self._model_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> SiyuEmbeddingFunction:
        return SiyuEmbeddingFunction(
            model_name=config.get("model_name"), model_path=config.get("model_path")
        )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        # Switching models is handled by the knowledge base (it re-embeds everything).
        return None

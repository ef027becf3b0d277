"""Decode staff text files without ever guessing wrong silently.

Chinese Excel and WPS save CSV as GBK, Windows Notepad may add a BOM or write UTF-16, and
everything else is UTF-8. Each candidate is tried strictly; a file none of them decodes cleanly is
rejected with the likely encoding named, because loading mojibake would publish garbage answers.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from assistant.knowledge.formats.base import FileProblem, ParsedFile, Problem

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary Office files (.xls, .doc)
# Share of non-ASCII characters outside GB2312 above which a "GBK" decode is probably another
# encoding (Big5, Shift_JIS, Latin-1) read as GBK: real simplified-Chinese text is almost all
# GB2312 characters.
_MAX_RARE_SHARE = 0.2


def read_text(path: Path) -> str:
    """The text of ``path``; raises :class:`FileProblem` with advice when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot read file: {exc.strerror or exc}") from exc
    return decode(data)


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16/32 with BOM, or GBK/GB18030."""
    if data.startswith(_ZIP_MAGIC):
        raise FileProblem(
            "this is a zip file, probably an Excel workbook: save it with the .xlsx extension"
        )
    if data.startswith(_OLE_MAGIC):
        raise FileProblem(
            "this is an old binary Office file (.xls): open it and save as .xlsx or CSV UTF-8"
        )
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return _normalise(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise FileProblem(
                    f"starts with a {encoding.upper()} byte-order mark but is not valid "
                    f"{encoding.upper()} text ({exc.reason} at byte {exc.start}); "
                    "save it as UTF-8"
                ) from exc
    try:
        return _normalise(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    if b"\x00" not in data:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            if _plausible_chinese(text):
                return _normalise(text)
    raise FileProblem(
        f"not UTF-8 or GBK text (looks like {_guess(data)}); save it as UTF-8 "
        "(in Excel: Save As → CSV UTF-8; in an editor: encoding UTF-8)"
    )


def _normalise(text: str) -> str:
    # A BOM can survive inside (concatenated files) and breaks the first header or key.
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _plausible_chinese(text: str) -> bool:
    """True when GB18030-decoded text reads like Chinese rather than another encoding's bytes."""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return True
    rare = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare <= 2 or rare / len(wide) <= _MAX_RARE_SHARE


def _guess(data: bytes) -> str:
    """Name the encoding charset-normalizer thinks the bytes are in, for the error message."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - the app runtime installs it
        return "an unknown encoding"
    best = from_bytes(data[:65536]).best()
    if best is None:
        return "binary data, not text"
    name = best.encoding.replace("_", "-")
    if name.lower() in {"utf-8", "gb18030", "gbk", "gb2312", "ascii"}:
        return "damaged or mixed-encoding text"
    return name


def read_knowledge_text(path: Path) -> str | ParsedFile:
    """The file's text, or a parsed file holding the one problem that stops reading it.

    An empty file is a problem, not "no records": most likely an editor caught mid-save, and
    syncing it would delete every record it used to hold.
    """
    label = str(path)
    try:
        text = read_text(path)
    except FileProblem as exc:
        return ParsedFile(problems=[Problem(label, exc.message)])
    if not text.strip():
        return ParsedFile(problems=[Problem(label, "file is empty")])
    return text

"""Shopper photos of a damaged item: recognise real images and keep them as files on disk.

The type is read from the bytes themselves (their magic numbers), never from what a platform or
browser claims, so a renamed document is refused however it is labelled.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# 10 MB: larger than any phone photo the platforms pass on, small enough to keep on disk.
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
# Nine photos per ticket, as many as a WeChat post takes: enough to show any damage.
MAX_PHOTOS_PER_TICKET: Final = 9

_EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
}
# ISO base media "brands" of HEIC/HEIF photos (iPhones send these).
_HEIF_BRANDS: Final = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}


class PhotoRejected(ValueError):
    """Not an image we accept, or too large; ``code`` picks the shopper's message."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def image_type(data: bytes) -> str | None:
    """The image's content type from its first bytes, or None when it is not an image."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


@dataclass(frozen=True)
class CheckedPhoto:
    """Bytes that passed the checks, with what the ticket keeps about them."""

    data: bytes
    content_type: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.content_type]


def check_photo(data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES) -> CheckedPhoto:
    """Accept ``data`` as a photo or raise :class:`PhotoRejected` saying why."""
    if not data:
        raise PhotoRejected("photo_empty", "the file is empty")
    if len(data) > max_bytes:
        raise PhotoRejected(
            "photo_too_large", f"{len(data)} bytes, more than the limit of {max_bytes}"
        )
    content_type = image_type(data)
    if content_type is None:
        raise PhotoRejected("photo_not_image", "not a JPEG, PNG, GIF, WebP or HEIC image")
    return CheckedPhoto(data, content_type, hashlib.sha256(data).hexdigest())


def write_photo(folder: Path, name: str, photo: CheckedPhoto) -> Path:
    """Write ``photo`` as ``folder/name`` atomically: a crash never leaves half a picture."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(photo.data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target

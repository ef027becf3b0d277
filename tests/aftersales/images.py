"""Image (and non-image) bytes for photo tests."""

from __future__ import annotations

# The smallest real images of each kind the store accepts (headers are what it reads).
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def png(variant: int = 0) -> bytes:
    """A distinct PNG per ``variant`` (same header, different trailing bytes)."""
    return PNG + variant.to_bytes(4, "big")

"""What a file really is, from its first bytes (the client's Content-Type and name are not trusted)."""

from __future__ import annotations

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})


def sniff(data: bytes) -> str | None:
    """The content type of ``data`` if it is one we accept, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"  # what phones take photos in
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None

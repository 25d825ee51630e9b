"""Files customers send (a receipt as a photo or a PDF): what they are, and a safe name.

What a file is comes from its first bytes (its magic number), never from its
name or the content type a browser declares: a script renamed `beleg.pdf`
or sent as `image/png` is still refused. The name a customer's device gave
the file is kept only as a label for the agent, cleaned of paths, control
characters and anything a file system or a header could misread, and it
always ends in the extension of what the file really is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from bot.domain import i18n
from bot.domain.errors import DomainError


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str
    #: how the customer's answer names it ("Foto", "PDF")
    label: str


JPEG = FileKind("image/jpeg", "jpg", "JPEG")
PNG = FileKind("image/png", "png", "PNG")
PDF = FileKind("application/pdf", "pdf", "PDF")
KINDS = (JPEG, PNG, PDF)

# A PNG starts with its signature and then its IHDR chunk (length 13).
_PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
# A JPEG starts with the start-of-image marker and another marker (APP0, APP1, DQT, ...).
_JPEG_START = b"\xff\xd8\xff"
_PDF_START = b"%PDF-"
#: The smallest file of each kind worth looking at (a PNG header is 33 bytes).
MINIMUM_BYTES = 32
FILENAME_CHARS = 80
_UNSAFE = re.compile(r"[^\w .()-]+")


class UploadRefused(DomainError):
    """A file that is not stored; `reason` says why, for the answer."""

    reason = "refused"


class UnsupportedFile(UploadRefused):
    """Not a JPEG, PNG or PDF by its first bytes (or empty)."""

    reason = "unsupported"


class FileTooLarge(UploadRefused):
    """Larger than the limit (RECEIPT_MAX_BYTES)."""

    reason = "too_large"


def sniff(content: bytes) -> FileKind | None:
    """The kind of file `content` is by its first bytes, or None if not one we take."""
    if len(content) < MINIMUM_BYTES:
        return None
    if content.startswith(_PNG_START):
        return PNG
    if content.startswith(_JPEG_START):
        return JPEG
    if content.startswith(_PDF_START) and re.match(rb"%PDF-\d\.\d", content):
        return PDF
    return None


def check(content: bytes, max_bytes: int) -> FileKind:
    """The kind of an uploaded file; raises FileTooLarge or UnsupportedFile."""
    if len(content) > max_bytes:
        raise FileTooLarge()
    kind = sniff(content)
    if kind is None:
        raise UnsupportedFile()
    return kind


def safe_filename(name: str | None, kind: FileKind) -> str:
    """A file name safe to store, show and send in a header, ending in `kind`'s extension.

    `..\\..\\Beleg<script>.exe` becomes `Beleg script .exe.pdf` for a PDF: the
    last path part, letters, digits, spaces, dots, dashes and brackets only, no
    leading dots, at most FILENAME_CHARS characters.
    """
    text = unicodedata.normalize("NFKC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = _UNSAFE.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    stem, dot, extension = text.rpartition(".")
    if dot and extension.lower() in _extensions(kind):
        text = stem.strip(" .")
    stem = text[: FILENAME_CHARS - len(kind.extension) - 1].strip(" .") or "zahlungsnachweis"
    return f"{stem}.{kind.extension}"


def _extensions(kind: FileKind) -> set[str]:
    return {"jpg", "jpeg"} if kind is JPEG else {kind.extension}


def size_label(max_bytes: int, language: str | None) -> str:
    """A size limit as customers read it: `5 MB`, `2,5 MB`."""
    megabytes = (Decimal(max_bytes) / Decimal(1024 * 1024)).quantize(Decimal("0.1"))
    return f"{i18n.number(megabytes, language)} MB"

"""Photos that come with a field edit: a JPEG data URL, checked, resized, re-encoded.

The phone already shrinks its photos; the server still opens each one with Pillow (so
only real JPEG images are kept, never whatever bytes were sent), drops its metadata (GPS
and camera tags are re-encoded away) and makes it fit :data:`MAX_BYTES`.
"""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

#: Largest data URL accepted (before decoding), and largest JPEG kept.
MAX_DATA_URL = 4 * 1024 * 1024
MAX_BYTES = 400 * 1024
MAX_SIDE = 1600
_PREFIX = "data:image/jpeg;base64,"
Image.MAX_IMAGE_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


class PhotoError(ValueError):
    """The photo is not a JPEG data URL that can be read."""


@dataclass(frozen=True)
class Photo:
    """A stored photo: the JPEG bytes and their size in pixels."""

    jpeg: bytes
    width: int
    height: int

    @property
    def base64(self) -> str:
        return base64.b64encode(self.jpeg).decode("ascii")

    @property
    def data_url(self) -> str:
        return _PREFIX + self.base64


def read_photo(data_url: str) -> Photo:
    """The photo of a ``data:image/jpeg;base64,…`` URL, at most :data:`MAX_SIDE` pixels
    a side and :data:`MAX_BYTES` bytes, without its metadata.

    Raises
    ------
    PhotoError
        Not a JPEG data URL, too large, or not an image Pillow can read.
    """
    if not isinstance(data_url, str) or not data_url.startswith(_PREFIX):
        raise PhotoError("the photo must be a data URL starting data:image/jpeg;base64,")
    if len(data_url) > MAX_DATA_URL:
        raise PhotoError(f"the photo is larger than {MAX_DATA_URL // 1024 // 1024} MB; "
                         "resize it on the phone")
    try:
        raw = base64.b64decode(data_url[len(_PREFIX):], validate=True)
        image = Image.open(io.BytesIO(raw))
        if image.format != "JPEG":
            raise PhotoError(f"the photo is {image.format}, not JPEG")
        image = image.convert("RGB")
    except (binascii.Error, UnidentifiedImageError, OSError,
            Image.DecompressionBombError) as exc:
        raise PhotoError(f"the photo cannot be read as a JPEG image ({exc})") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return _fit(image)


def _fit(image: Image.Image) -> Photo:
    """Re-encode ``image`` at falling quality, then smaller, until it fits MAX_BYTES."""
    while True:
        for quality in (85, 75, 60, 45):
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= MAX_BYTES:
                return Photo(out.getvalue(), image.width, image.height)
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)))

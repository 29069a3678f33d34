"""Plug-in point for a licensed decoder of the ID card photo.

The card's 1,024-byte photo is in a proprietary wavelet format ("WLT") that only vendor
libraries decode, under licence. The kiosk keeps the bytes opaque and never ships such a
library; a deployment that has one installs a Python package that registers a decoder under
the entry-point group below, and the kiosk finds it by name. Without one, the photo is simply
not shown (and nothing claims a face match).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol

ENTRY_POINT_GROUP = "gov_kiosk.photo_decoders"
PHOTO_BYTES = 1024


class PhotoDecoder(Protocol):
    """Turns the card's WLT bytes into an image file's bytes (BMP or PNG)."""

    def decode(self, wlt: bytes) -> bytes:
        """The decoded image; raise ValueError for bytes that are not a card photo."""


class PhotoDecoderError(RuntimeError):
    """The named decoder is not installed or cannot be loaded."""


def available_decoders(found: Iterable[EntryPoint] | None = None) -> dict[str, EntryPoint]:
    """Installed decoders by name."""
    found = entry_points(group=ENTRY_POINT_GROUP) if found is None else found
    return {entry.name: entry for entry in found}


def load_photo_decoder(
    name: str | None = None, found: Iterable[EntryPoint] | None = None
) -> PhotoDecoder | None:
    """The decoder called ``name`` (or the only one installed); None when there is none."""
    decoders = available_decoders(found)
    if not decoders:
        if name:
            raise PhotoDecoderError(f"photo decoder {name!r} is not installed")
        return None
    if name is None:
        if len(decoders) > 1:
            raise PhotoDecoderError(
                f"several photo decoders installed ({', '.join(sorted(decoders))}); name one")
        name = next(iter(decoders))
    if name not in decoders:
        raise PhotoDecoderError(
            f"photo decoder {name!r} is not installed; installed: {', '.join(sorted(decoders))}")
    try:
        return decoders[name].load()()
    except Exception as error:  # a broken vendor package must not stop the kiosk
        raise PhotoDecoderError(f"photo decoder {name!r} failed to load: {error}") from None


def decode_photo(wlt: bytes, decoder: PhotoDecoder | None) -> bytes | None:
    """The photo as an image, or None without a decoder or for a malformed photo."""
    if decoder is None or len(wlt) != PHOTO_BYTES:
        return None
    try:
        return decoder.decode(wlt)
    except ValueError:
        return None

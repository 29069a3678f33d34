"""The photo decoder plug-in point (a vendor library is outside the machine: faked here)."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from drivers.idcard.photo import (
    ENTRY_POINT_GROUP,
    PhotoDecoderError,
    decode_photo,
    load_photo_decoder,
)


class FakeVendorDecoder:
    """Stands in for a licensed WLT decoder: returns a tiny BMP header plus the bytes."""

    def decode(self, wlt: bytes) -> bytes:
        if wlt[:1] == b"\xff":
            raise ValueError("not a card photo")
        return b"BM" + wlt[:8]


class BrokenDecoder:
    def __init__(self) -> None:
        raise OSError("libwlt.so: cannot open shared object file")


def entry(name: str, attr: str) -> EntryPoint:
    return EntryPoint(name, f"{__name__}:{attr}", ENTRY_POINT_GROUP)


def test_no_decoder_installed_means_no_photo():
    assert load_photo_decoder(found=[]) is None
    assert decode_photo(bytes(1024), None) is None
    with pytest.raises(PhotoDecoderError, match="not installed"):
        load_photo_decoder("vendor", found=[])


def test_an_installed_decoder_is_found_and_used():
    decoder = load_photo_decoder(found=[entry("vendor", "FakeVendorDecoder")])
    assert decode_photo(bytes(range(256)) * 4, decoder) == b"BM" + bytes(range(8))
    assert decode_photo(b"\xff" * 1024, decoder) is None  # malformed photo
    assert decode_photo(bytes(10), decoder) is None  # wrong size


def test_choosing_among_decoders_and_broken_ones():
    both = [entry("a", "FakeVendorDecoder"), entry("b", "FakeVendorDecoder")]
    with pytest.raises(PhotoDecoderError, match="several"):
        load_photo_decoder(found=both)
    assert load_photo_decoder("b", found=both) is not None
    with pytest.raises(PhotoDecoderError, match=r"libwlt\.so"):
        load_photo_decoder(found=[entry("broken", "BrokenDecoder")])

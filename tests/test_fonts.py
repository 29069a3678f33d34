"""The extracted face is Simplified Chinese and covers rare characters of citizens' names."""

from __future__ import annotations

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from kiosk.fonts import FAMILY, FontMissingError, ensure_sc_fonts, extract_face, find_collection

NAME_CHARACTERS = "堃喆䶮𠮷昇犇"


@pytest.fixture(scope="module")
def fonts(tmp_path_factory):
    return ensure_sc_fonts(tmp_path_factory.mktemp("fonts"))


def test_extracted_faces_are_the_sc_family(fonts):
    for path in (fonts.regular, fonts.bold):
        font = TTFont(str(path), lazy=True)
        assert font["name"].getDebugName(1) == FAMILY


def test_rare_name_characters_have_glyphs(fonts):
    cmap = TTFont(str(fonts.regular), lazy=True).getBestCmap()
    missing = [char for char in NAME_CHARACTERS if ord(char) not in cmap]
    assert not missing


def test_second_call_reuses_the_files(fonts):
    before = fonts.regular.stat().st_mtime_ns
    again = ensure_sc_fonts(fonts.regular.parent)
    assert again == fonts and again.regular.stat().st_mtime_ns == before


def test_unknown_face_is_a_clear_error(tmp_path: Path):
    collection = find_collection("NotoSansCJK-Regular.ttc")
    assert collection is not None
    with pytest.raises(FontMissingError, match="no face named"):
        extract_face(collection, "No Such Family", tmp_path / "x.otf")
    assert not list(tmp_path.iterdir()), "no partial file is left behind"


def test_missing_collection_names_the_package(monkeypatch, tmp_path: Path):
    monkeypatch.setattr("kiosk.fonts.FONT_DIRS", (tmp_path,))
    monkeypatch.setattr("kiosk.fonts.find_collection", lambda name, dirs=(tmp_path,): None)
    with pytest.raises(FontMissingError, match="fonts-noto-cjk"):
        ensure_sc_fonts(tmp_path / "cache")


def test_every_character_the_kiosk_shows_has_a_glyph(fonts):
    """No tofu: messages in both languages, keyboard labels and all catalogue names."""
    import json

    from babel.messages.pofile import read_po

    from kiosk.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

    repo = Path(__file__).resolve().parent.parent
    shown: set[str] = set()
    for language in LANGUAGES:
        with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as handle:
            for message in read_po(handle):
                shown.update(message.id + message.string)
    layout = json.loads((repo / "screens" / "keyboards" / "pinyin.json").read_text("utf-8"))
    for rows in layout.values():
        if isinstance(rows, list):
            shown.update("".join(key[0] for key in rows))
    catalogue = json.loads((repo / "kiosk" / "data" / "matters_guangan.json").read_text("utf-8"))
    for matter in catalogue["matters"]:
        shown.update(matter["name"] + matter["department"])
    shown.update("".join(LANGUAGES.values()) + "●·|…")
    cmap = TTFont(str(fonts.regular), lazy=True).getBestCmap()
    missing = sorted(char for char in shown if char.isprintable() and ord(char) not in cmap)
    assert not missing, f"no glyph for {missing}"

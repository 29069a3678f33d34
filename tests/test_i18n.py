"""Catalogues cover every message the screens show, and the compiled files are current."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, Translator, task_type_label

REPO = Path(__file__).resolve().parent.parent
MESSAGE = re.compile(r'(?:tr\._|\bN_)\(\s*"((?:[^"\\]|\\.)*)"\s*\)')


def screen_messages() -> set[str]:
    """``tr._("...")`` and ``N_("...")`` of the screens, and the core's message tables."""
    from screens.i18n import core_messages

    found: set[str] = core_messages()
    for path in sorted((REPO / "screens").glob("*.kv")) + sorted((REPO / "screens").glob("*.py")):
        found.update(MESSAGE.findall(path.read_text(encoding="utf-8")))
    return found


def po_catalogue(language: str):
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as handle:
        return read_po(handle, locale=language)


def test_screens_have_messages_to_translate():
    messages = screen_messages()
    assert len(messages) > 40
    assert "Call staff" in messages


def test_chinese_catalogue_translates_every_screen_message():
    catalogue = po_catalogue("zh_CN")
    missing = [
        m for m in sorted(screen_messages()) if not (catalogue.get(m) and catalogue.get(m).string)
    ]
    assert not missing, f"untranslated in zh_CN: {missing}"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_catalogue_has_no_stale_messages(language: str):
    used = screen_messages()
    stale = [m.id for m in po_catalogue(language) if m.id and m.id not in used]
    assert not stale, f"{language}: not used by any screen: {stale}"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_compiled_catalogue_matches_the_po_file(language: str):
    compiled = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    for message in po_catalogue(language):
        if message.id:
            expected = message.string or message.id
            assert compiled.gettext(message.id) == expected, "run make locales"


def test_placeholders_survive_translation():
    catalogue = po_catalogue("zh_CN")
    for message in catalogue:
        if message.id:
            names = set(re.findall(r"{\w+}", message.id))
            assert names == set(re.findall(r"{\w+}", message.string))


def test_translator_switches_and_tells_listeners():
    translator = Translator("zh_CN")
    heard: list[str] = []
    translator.add_listener(heard.append)
    assert translator.gettext("Call staff") == "呼叫人工"
    translator.switch("en")
    assert translator.gettext("Call staff") == "Call staff"
    translator.switch("en")  # no change, no event
    assert heard == ["en"]
    translator.remove_listener(heard.append)
    translator.switch("zh_CN")
    assert heard == ["en"]


def test_unsupported_language_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        Translator("fr")


def test_task_type_labels():
    assert task_type_label(1, "行政许可 administrative licence", "zh_CN") == "行政许可"
    assert task_type_label(1, "行政许可", "en") == "Administrative licence"
    assert task_type_label(99, "新类型", "en") == "新类型"

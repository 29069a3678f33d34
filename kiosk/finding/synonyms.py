"""What a citizen's words mean in the catalogue's wording: synonyms, intents, English, pinyin.

Citizens do not type official names. They type 驾照 for 机动车驾驶证, 开饭馆 for 食品经营许可,
``jiazhao`` on the Latin keyboard, 居住正 for 居住证, or ``residence permit`` with the English
interface. The catalogue cannot know these words, so two curated tables translate them:

* ``kiosk/data/search_synonyms.json``: colloquial Chinese -> official terms (``synonyms``)
  and action words -> the name wording of that action (``intents``: 补办 -> 补领/补发/遗失补办),
  made by reading the catalogue names department by department;
* ``kiosk/data/search_glossary_en.json``: English words and phrases -> Chinese terms.

A key matches the query literally (its hanzi are in the query) or by sound (its syllables are
in the query's syllables), so ``jiazhao`` and the typo 驾找 both reach 驾照's official terms.
:func:`analyse` turns a query into an :class:`Analysis` that the ranking engine weighs; it
knows nothing of any index, so it is tested on its own and loaded once per process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from kiosk.finding.pinyin_keys import han_syllables, is_han, pinyin_syllables

__all__ = ["Analysis", "Dictionary", "analyse", "dictionary", "split_pinyin"]

DATA = Path(__file__).resolve().parent.parent / "data"
SYNONYMS_FILE = DATA / "search_synonyms.json"
GLOSSARY_FILE = DATA / "search_glossary_en.json"

_WORD = re.compile(r"[a-z]+")
_MAX_SYLLABLE = 6


@dataclass(frozen=True, slots=True)
class Analysis:
    """One query, read every way the engine uses.

    ``hanzi``: the query's own hanzi runs; ``syllables``: its syllables (typed pinyin, or the
    reading of its hanzi), one tuple per run; ``expansions``: official terms -> weight from
    synonyms and English; ``intents``: name wording of the asked action -> weight;
    ``english``: whether English words were translated (then literal tiers do not apply).
    With no intent word, the ranking engine prefers the dictionary's ``default_intent``
    variants (新办, 核发...) among rows that match otherwise: a citizen who names a thing
    and no action most often wants to get it.
    """

    hanzi: tuple[str, ...]
    syllables: tuple[tuple[str, ...], ...]
    typed_pinyin: bool
    expansions: dict[str, float] = field(default_factory=dict)
    intents: dict[str, float] = field(default_factory=dict)
    english: bool = False


@dataclass(frozen=True, slots=True)
class _Key:
    """One dictionary key: its text, syllables and the terms it stands for."""

    text: str
    syllables: tuple[str, ...]
    targets: tuple[str, ...]
    sound: str  # the syllables as _sound() writes them


class Dictionary:
    """The synonym, intent and English tables, with each Chinese key's syllables."""

    def __init__(self, synonyms: dict, glossary: dict) -> None:
        self.synonyms = [self._key(k, v) for k, v in synonyms["synonyms"].items()]
        self.intents = [self._key(k, v) for k, v in synonyms["intents"].items()]
        self.default_intent = tuple(synonyms.get("default_intent", ()))
        self.stopwords = frozenset(glossary.get("stopwords", ()))
        self.english: dict[tuple[str, ...], tuple[str, ...]] = {
            tuple(_singular(w) for w in _WORD.findall(phrase.lower())): tuple(terms)
            for phrase, terms in glossary["terms"].items()}
        self.longest_phrase = max(len(words) for words in self.english)
        # Initials of dictionary words, to read an initials query as words: sbk+gs ->
        # 社保卡 挂失, jsz -> 驾驶证. Two-syllable units only as parts of a longer query.
        # A unit is (word's initials) -> (official term, is an intent): a key stands for
        # its targets (sbk -> 社会保障卡), an official term for itself.
        self.units: dict[str, list[tuple[str, bool]]] = {}
        for keys, intent in ((self.synonyms, False), (self.intents, True)):
            for key in keys:
                self._unit(key.text, key.targets, intent)
                for target in key.targets:
                    self._unit(target, (target,), intent)

    def _unit(self, word: str, terms: tuple[str, ...], intent: bool) -> None:
        runs = _han_runs(word)
        if len(runs) != 1:
            return
        syllables = [s for s in han_syllables(runs[0]) if s]
        if len(syllables) >= 2:
            found = self.units.setdefault("".join(s[0] for s in syllables), [])
            for term in terms:
                if (term, intent) not in found:
                    found.append((term, intent))

    def read_initials(self, word: str) -> list[tuple[str, bool]] | None:
        """An initials word cut into dictionary words (``sbkgs`` -> 社保卡, 挂失), or None.

        Every cut with the fewest pieces counts (the names sort out which was meant). A
        lone two-letter word is too ambiguous to read, and so is a word whose pieces
        repeat (``qqqqqq`` is no 气球 气球 气球).
        """
        if len(word) < 3 or not word.isalpha():
            return None

        @cache
        def cuts(pos: int) -> tuple[tuple[str, ...], ...]:
            """Every cut of word[pos:] into known pieces."""
            if pos == len(word):
                return ((),)
            found: list[tuple[str, ...]] = []
            for stop in range(pos + 2, min(len(word), pos + 8) + 1):
                if word[pos:stop] in self.units:
                    found.extend((word[pos:stop], *rest) for rest in cuts(stop))
            return tuple(found[:64])

        every = [cut for cut in cuts(0) if len(set(cut)) == len(cut)]
        if not every:
            return None
        fewest = min(len(cut) for cut in every)
        pieces = list(dict.fromkeys(p for cut in every if len(cut) == fewest for p in cut))
        return [unit for piece in pieces for unit in self.units[piece]]

    @staticmethod
    def _key(text: str, targets: list[str]) -> _Key:
        syllables = tuple(s for run in _han_runs(text) for s in han_syllables(run) if s)
        return _Key(text.lower(), syllables, tuple(targets), _sound(syllables))

    def translate(self, words: list[str]) -> tuple[list[str], list[str]]:
        """English words -> (Chinese terms, words left over), longest phrase first."""
        terms: list[str] = []
        left: list[str] = []
        index = 0
        while index < len(words):
            for size in range(min(self.longest_phrase, len(words) - index), 0, -1):
                phrase = tuple(_singular(w) for w in words[index:index + size])
                found = self.english.get(phrase) or self.english.get(
                    tuple(words[index:index + size]))
                if found:
                    terms.extend(found)
                    index += size
                    break
            else:
                if words[index] not in self.stopwords:
                    left.append(words[index])
                index += 1
        return terms, left


@cache
def dictionary() -> Dictionary:
    """The shipped tables, loaded once per process (a few milliseconds)."""
    with SYNONYMS_FILE.open(encoding="utf-8") as handle:
        synonyms = json.load(handle)
    with GLOSSARY_FILE.open(encoding="utf-8") as handle:
        glossary = json.load(handle)
    return Dictionary(synonyms, glossary)


def _singular(word: str) -> str:
    """``permits`` -> ``permit``; short words and ``-ss`` words are left alone."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _han_runs(text: str) -> list[str]:
    """Maximal runs of hanzi in ``text``."""
    return "".join(c if is_han(c) else " " for c in text).split()


def split_pinyin(text: str) -> tuple[str, ...] | None:
    """Toneless pinyin cut into syllables (``jiashizheng`` -> jia shi zheng), or None.

    Longest syllable first with backtracking, so ``xian`` is one syllable and ``fangan``
    is fang+an; None when the text is not pinyin at all (``jsz``, ``qxzv``, ``please``).
    """
    valid = pinyin_syllables()
    end = len(text)

    @cache
    def cut(pos: int) -> tuple[str, ...] | None:
        if pos == end:
            return ()
        for stop in range(min(end, pos + _MAX_SYLLABLE), pos, -1):
            piece = text[pos:stop]
            if piece in valid and (len(piece) > 1 or piece in "aeo"):
                rest = cut(stop)
                if rest is not None:
                    return (piece, *rest)
        return None

    return cut(0) if text else None


def _sound(syllables: tuple[str, ...]) -> str:
    """Syllables as `` ju zhu zheng ``: one ``in`` test then finds a run of them in C."""
    return " " + " ".join(syllables) + " "


def analyse(query: str, table: Dictionary | None = None) -> Analysis:
    """Read a query: its hanzi, its syllables, and what the dictionaries say it means."""
    table = table or dictionary()
    lower = query.lower()
    hanzi = tuple(_han_runs(lower))
    words = _WORD.findall(lower)
    english_terms: list[str] = []
    left = words
    if words:
        english_terms, left = table.translate(words)
    syllables: list[tuple[str, ...]] = [
        tuple(han_syllables(run)) for run in hanzi]  # one per char, aligned with hanzi
    typed = False
    expansions: dict[str, float] = {}
    intents: dict[str, float] = {}
    for word in left:
        cut = split_pinyin(word)
        if cut:
            syllables.append(cut)
            typed = True
        units = table.read_initials(word)
        if units is None and len(word) == 2 and len(left) > 1:  # "hz bl": 护照 补领
            units = table.units.get(word)
        for term, intent in units or ():  # jsz -> 驾驶证
            if intent:
                intents[term] = max(intents.get(term, 0.0), 0.8)
            else:
                expansions[term] = max(expansions.get(term, 0.0), 0.8)
    for term in english_terms:
        expansions[term] = max(expansions.get(term, 0.0), 1.0)
    text = "".join(hanzi) + " ".join(word for word in words if word not in left)
    sounds = "|".join(_sound(run) for run in syllables)
    for keys, out, literal_weight in ((table.synonyms, expansions, 0.9),
                                      (table.intents, intents, 1.0)):
        for key in keys:
            if key.text in text or key.text in words:
                weight = literal_weight
            elif len(key.syllables) >= 2 and key.sound in sounds:
                weight = literal_weight * 0.7  # by sound: typed pinyin or a homophone typo
            else:
                continue
            for rank, target in enumerate(key.targets):
                # the first target is what the word means; later ones are looser readings
                decayed = weight * max(0.6, 1.0 - 0.15 * rank)
                out[target] = max(out.get(target, 0.0), decayed)
    if english_terms:
        for term in english_terms:  # English action words ("replace", "renew") are intents
            for key in table.intents:
                if key.text == term:
                    for target in key.targets:
                        intents[target] = max(intents.get(target, 0.0), 0.8)
    return Analysis(hanzi, tuple(syllables), typed, expansions, intents,
                    english=bool(english_terms))

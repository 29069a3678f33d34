"""Visit state is wiped completely; prompt tones are valid WAV files."""

from __future__ import annotations

import wave
from pathlib import Path

from kiosk.assistance.sounds import RATE, TONES, ensure_tone
from kiosk.models import Matter
from kiosk.session import Session


def test_wipe_forgets_the_visit_but_counts_it():
    session = Session()
    assert not session.active
    session.start(now=10.0)
    session.start(now=20.0)  # a second touch does not restart the visit
    assert session.started_at == 10.0 and session.visits == 1
    session.choose_matter(Matter("C1", "居住证办理", "区公安分局", 1, "行政许可"))
    session.search_text = "jzz"
    session.idle_extensions = 3
    session.wipe()
    assert (session.active, session.matter, session.search_text, session.idle_extensions) == (
        False, None, "", 0)
    assert session.visits == 1


def test_tones_are_playable_wav_files(tmp_path: Path):
    for name, notes in TONES.items():
        path = ensure_tone(name, tmp_path)
        with wave.open(str(path), "rb") as sound:
            assert sound.getframerate() == RATE and sound.getnchannels() == 1
            expected = sum(int(RATE * seconds) for _frequency, seconds in notes)
            assert sound.getnframes() == expected
    assert not list(tmp_path.glob("*.tmp"))

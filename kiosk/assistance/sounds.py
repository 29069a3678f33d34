"""Short prompt tones, generated instead of shipped as binary files.

The idle warning must reach the citizen by more than one sense (EAA Annex I, WCAG 2.2.1),
so it chimes as well as showing a countdown. Tones are made with the standard library's
``wave`` module and cached as WAV files that Kivy's SoundLoader can play.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050

TONES: dict[str, tuple[tuple[float, float], ...]] = {
    # name: (frequency Hz, seconds) notes; a falling pair asks for attention without alarm
    "idle_warning": ((880.0, 0.18), (660.0, 0.28)),
    # a rising triple carries across a busy hall when staff are called
    "call_staff": ((523.0, 0.15), (659.0, 0.15), (784.0, 0.30)),
    "tap": ((1200.0, 0.03),),
    # a short rising pair: a photo was taken, a card was read
    "done": ((784.0, 0.08), (1047.0, 0.14)),
}


def tone_samples(notes: tuple[tuple[float, float], ...], volume: float = 0.5) -> bytes:
    """16-bit mono PCM for ``notes`` with 10 ms fades so that no note clicks."""
    frames = bytearray()
    fade = int(RATE * 0.01)
    for frequency, seconds in notes:
        count = int(RATE * seconds)
        for index in range(count):
            envelope = min(1.0, index / fade, (count - index) / fade)
            value = volume * envelope * math.sin(2 * math.pi * frequency * index / RATE)
            frames += struct.pack("<h", int(value * 32767))
    return bytes(frames)


def ensure_tone(name: str, directory: Path) -> Path:
    """Path of the WAV file for tone ``name`` in ``directory``, written when missing."""
    path = directory / f"{name}.wav"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with wave.open(str(temporary), "wb") as output:
            output.setnchannels(1)
            output.setsampwidth(2)
            output.setframerate(RATE)
            output.writeframes(tone_samples(TONES[name]))
        temporary.replace(path)
    return path

"""Spoken prompts: real Mandarin audio from espeak-ng, privacy, interruption, failures.

Audio itself is checked with ``--stdout`` (CI has no sound card); what the kiosk's play path
actually runs is observed through fake engines: small shell scripts that record their argv
and stdin, and sleep or fail on demand.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.assistance.speech import (
    VOICES,
    Speaker,
    SpeechError,
    find_engine,
    fix_wav_sizes,
    voice_for,
)
from kiosk.config import SpeechSection

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)

CHINESE = "请到三号窗口办理业务"
ENGLISH = "Please go to counter three."
ID_NUMBER = "51160219491001002X"


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (killed, not yet reaped by its new parent) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.fixture
def fake_engine(tmp_path: Path) -> Callable[[str], Path]:
    """Write an executable fake engine whose body (after recording argv and stdin) is given.

    Each run appends its argv to ``argv.log``, its stdin to ``stdin.log`` and its pid to
    ``pids.log``; "$$" in the body is the script's pid.
    """

    def make(body: str = "") -> Path:
        script = tmp_path / "fake-espeak"
        script.write_text(
            "#!/bin/sh\n"
            f'cd "{tmp_path}"\n'
            'printf "%s\\n" "$*" >> argv.log\n'
            "cat >> stdin.log\n"
            'printf "\\n" >> stdin.log\n'
            'echo "$$" >> pids.log\n'
            f"{body}\n",
            encoding="utf-8",
        )
        script.chmod(0o755)
        return script

    return make


@pytest.fixture
def speakers() -> Iterator[list[Speaker]]:
    """Speakers made by a test, closed (engines killed) when it ends."""
    made: list[Speaker] = []
    yield made
    for speaker in made:
        speaker.close()


def make_speaker(speakers: list[Speaker], engine: Path | str | None, **settings: object) -> Speaker:
    speaker = Speaker(SpeechSection(**settings), engine=str(engine) if engine else None)
    speakers.append(speaker)
    return speaker


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


# -- real audio ---------------------------------------------------------------------------


@needs_espeak
@pytest.mark.parametrize(("text", "language"), [(CHINESE, "zh_CN"), (ENGLISH, "en")])
def test_synthesize_makes_a_real_wav(text: str, language: str):
    with Speaker(SpeechSection(), engine=ESPEAK) as speaker:
        data = speaker.synthesize(text, language)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(io.BytesIO(data)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    assert 0.3 < seconds < 30
    assert len(frames) == audio.getnframes() * audio.getsampwidth() * audio.getnchannels()
    assert frames.count(0) < len(frames) * 0.9  # speech, not silence


@needs_espeak
def test_synthesize_ignores_enabled_and_still_needs_a_voice():
    speaker = Speaker(SpeechSection(enabled=False), engine=ESPEAK)  # no thread: disabled
    assert speaker.synthesize("你好", "zh_CN")[:4] == b"RIFF"
    with pytest.raises(SpeechError):
        speaker.synthesize("hello", "fr")


@needs_espeak
def test_the_chinese_voice_reads_hanzi_as_mandarin_not_as_english():
    """Why not ``cmn``: Debian 12's espeak-ng reads its Hanzi as English-spoken pinyin."""
    def phonemes(voice: str) -> str:
        return subprocess.run(
            [ESPEAK, "-q", "-x", "-v", voice, "--stdin"], input=CHINESE + "，共12页",
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout

    assert voice_for("zh_CN") == VOICES["zh"]
    assert "(en)" not in phonemes(VOICES["zh"])
    listed = subprocess.run([ESPEAK, f"--voices={VOICES['zh'].split('-')[0]}"],
                            capture_output=True, text=True, check=True, timeout=10).stdout
    assert f" {VOICES['zh']} " in listed


def test_voice_for_languages():
    assert (voice_for("zh_CN"), voice_for("zh"), voice_for("en"), voice_for("en_GB")) == (
        "cmn-latn-pinyin", "cmn-latn-pinyin", "en", "en")
    assert voice_for("fr") is None


def test_fix_wav_sizes_replaces_the_streaming_placeholders():
    header = b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00" + bytes(16)
    data = header + b"data\xff\xff\xff\x7f" + b"\x01\x00" * 10
    fixed = fix_wav_sizes(data)
    assert fixed[4:8] == (len(data) - 8).to_bytes(4, "little")
    assert fixed[-24:-20] == (20).to_bytes(4, "little")
    assert fix_wav_sizes(b"not a wav") == b"not a wav"


# -- privacy --------------------------------------------------------------------------------


def test_text_goes_on_stdin_and_never_on_the_command_line(fake_engine, speakers, tmp_path):
    speaker = make_speaker(speakers, fake_engine(), rate=150)
    assert speaker.say(CHINESE, "zh_CN") is True
    assert speaker.wait(3)
    assert read_lines(tmp_path / "stdin.log") == [CHINESE]
    (argv,) = read_lines(tmp_path / "argv.log")
    assert CHINESE not in argv and "--stdin" in argv.split()
    assert "-v cmn-latn-pinyin -s 150" in argv


def test_sensitive_text_is_refused_without_a_headset(fake_engine, speakers, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="kiosk.assistance.speech")
    speaker = make_speaker(speakers, fake_engine(), headset=False)
    assert speaker.say(ID_NUMBER, "zh_CN", sensitive=True) is False
    assert speaker.say(ENGLISH, "en") is True  # the engine does run for ordinary prompts
    assert speaker.wait(3)
    assert read_lines(tmp_path / "stdin.log") == [ENGLISH]
    assert not any(ID_NUMBER in record.getMessage() for record in caplog.records)


def test_sensitive_text_is_spoken_into_a_headset(fake_engine, speakers, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="kiosk.assistance.speech")
    speaker = make_speaker(speakers, fake_engine(), headset=True)
    assert speaker.say(ID_NUMBER, "zh_CN", sensitive=True) is True
    assert speaker.wait(3)
    assert read_lines(tmp_path / "stdin.log") == [ID_NUMBER]
    assert ID_NUMBER not in (tmp_path / "argv.log").read_text(encoding="utf-8")
    assert not any(ID_NUMBER in record.getMessage() for record in caplog.records)


# -- interruption and not blocking --------------------------------------------------------


SLOW = 'sleep 5 &\necho "$!" >> pids.log\nwait\necho done >> done.log'


def test_say_does_not_wait_for_the_engine(fake_engine, speakers, tmp_path):
    speaker = make_speaker(speakers, fake_engine(SLOW))
    assert speaker.say(ENGLISH, "en") is True
    # say() has returned while the 5 s engine is still at work
    assert wait_until(lambda: len(read_lines(tmp_path / "pids.log")) == 2)
    assert not (tmp_path / "done.log").exists()
    assert speaker.wait(0.05) is False


def test_a_new_prompt_kills_the_one_playing(fake_engine, speakers, tmp_path):
    speaker = make_speaker(speakers, fake_engine(SLOW))
    assert speaker.say("first screen", "en")
    assert wait_until(lambda: len(read_lines(tmp_path / "pids.log")) == 2)
    first = [int(pid) for pid in read_lines(tmp_path / "pids.log")]  # the script, its sleep
    assert speaker.say("second screen", "en")
    assert wait_until(lambda: not any(alive(pid) for pid in first))
    assert wait_until(lambda: len(read_lines(tmp_path / "pids.log")) == 4)
    assert all(alive(int(pid)) for pid in read_lines(tmp_path / "pids.log")[2:])
    assert read_lines(tmp_path / "stdin.log") == ["first screen", "second screen"]
    assert not (tmp_path / "done.log").exists()


def test_stop_silences_and_close_ends_the_thread(fake_engine, speakers, tmp_path):
    before = set(threading.enumerate())
    speaker = make_speaker(speakers, fake_engine(SLOW))
    assert speaker.say(ENGLISH, "en")
    assert wait_until(lambda: len(read_lines(tmp_path / "pids.log")) == 2)
    speaker.stop()
    assert speaker.wait(3)
    assert not any(alive(int(pid)) for pid in read_lines(tmp_path / "pids.log"))
    speaker.close()
    assert not [thread for thread in set(threading.enumerate()) - before
                if thread.name == "kiosk-speech"]
    assert speaker.say(ENGLISH, "en") is False


# -- turned off, missing or failing -------------------------------------------------------


def test_disabled_speech_or_no_engine_says_nothing(fake_engine, speakers, tmp_path):
    disabled = make_speaker(speakers, fake_engine(), enabled=False)
    missing = make_speaker(speakers, tmp_path / "no-such-engine")
    for speaker in (disabled, missing):
        assert speaker.available is False
        assert speaker.say(ENGLISH, "en") is False
        speaker.stop()
        assert speaker.wait(0)
    assert not (tmp_path / "argv.log").exists()


def test_empty_text_and_unknown_language_are_not_spoken(fake_engine, speakers):
    speaker = make_speaker(speakers, fake_engine())
    assert speaker.available
    assert speaker.say("", "en") is False
    assert speaker.say("   ", "zh_CN") is False
    assert speaker.say(ENGLISH, "fr") is False


def test_the_default_engine_is_espeak_ng():
    speaker = Speaker(SpeechSection(enabled=False))
    assert speaker.engine == find_engine()
    if ESPEAK:
        assert speaker.engine == ESPEAK


def test_a_failing_engine_is_logged_once_without_the_text(fake_engine, speakers, caplog):
    caplog.set_level(logging.DEBUG, logger="kiosk.assistance.speech")
    body = f'echo "ALSA lib pcm.c: Unknown PCM default" >&2\necho "{ID_NUMBER}" >&2\nexit 3'
    speaker = make_speaker(speakers, fake_engine(body), headset=True)
    for text in (ENGLISH, ID_NUMBER, "third prompt"):
        assert speaker.say(text, "en", sensitive=text == ID_NUMBER) is True
        assert speaker.wait(3)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "exited with status 3" in warnings[0].getMessage()
    for record in caplog.records:
        message = record.getMessage()
        assert ENGLISH not in message and ID_NUMBER not in message and "third" not in message


def test_no_audio_device_exits_zero_but_still_counts_as_a_failure(fake_engine, speakers, caplog):
    """espeak-ng 1.51 without a sound card prints ``error: ...`` and exits 0."""
    body = 'echo "error: No such file or directory" >&2\nexit 0'
    speaker = make_speaker(speakers, fake_engine(body))
    assert speaker.say(ENGLISH, "en")
    assert speaker.wait(3)
    (warning,) = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "no audio device" in warning.getMessage()


def test_an_engine_removed_at_run_time_is_logged_not_raised(fake_engine, speakers, caplog):
    script = fake_engine()
    speaker = make_speaker(speakers, script)
    os.remove(script)
    assert speaker.say(ENGLISH, "en") is True
    assert speaker.wait(3)
    assert speaker.say(ENGLISH, "en") is True
    assert speaker.wait(3)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not be started" in warnings[0].getMessage()

"""Spoken prompts for elderly and low-vision citizens, through espeak-ng.

Three rules shape this module:

* **Privacy.** A kiosk's loudspeaker is heard by the whole queue behind the citizen, so
  text marked ``sensitive`` (a name, an ID number) is spoken only when the kiosk has a
  headset (``[speech] headset = true``); otherwise it is dropped. Spoken text of any kind
  never appears on a command line (``/proc/PID/cmdline`` is readable by every user), in a
  log or on disk: it reaches the engine on its standard input (``--stdin``), and logs carry
  only the language and the engine's exit status.
* **Interruption.** Prompts follow the screens. When the citizen moves on, the old prompt
  is stale, so each new utterance kills the one playing (its whole process group, in case
  the engine is a wrapper script) and replaces anything still queued.
* **Never in the way.** :meth:`Speaker.say` is called on the UI thread: it only records the
  utterance and wakes one background daemon thread that runs the engine. A missing engine,
  a kiosk without a sound card or an engine that fails is logged once at warning level and
  otherwise ignored; speech is an aid, and the screen still works without it.

The voice for Chinese is ``cmn-latn-pinyin``, not ``cmn``: in Debian 12's espeak-ng 1.51
the ``cmn`` voice ("latin as English") turns most Hanzi into pinyin and then reads that
pinyin as English words, so 请到 comes out as "king three, day-o four". The pinyin variant
reads the same dictionary's pinyin as Mandarin, numbers included (12 as shí èr).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import struct
import subprocess
import threading
from dataclasses import dataclass

from kiosk.config import SpeechSection

__all__ = [
    "VOICES",
    "Speaker",
    "SpeechError",
    "engine_command",
    "find_engine",
    "fix_wav_sizes",
    "voice_for",
]

log = logging.getLogger(__name__)

#: espeak-ng voice for each language, keyed by the language part of a kiosk language code.
VOICES: dict[str, str] = {"zh": "cmn-latn-pinyin", "en": "en"}
#: How long :meth:`Speaker.close` waits for the worker thread to finish.
CLOSE_TIMEOUT = 2.0


class SpeechError(Exception):
    """:meth:`Speaker.synthesize` produced no audio; the message never contains the text."""


def find_engine() -> str | None:
    """Path of ``espeak-ng``, else of the older ``espeak``, else ``None``."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def voice_for(language: str) -> str | None:
    """The espeak-ng voice for a kiosk language code (``zh_CN``, ``en``, ``en_GB``), or None."""
    return VOICES.get(language.replace("-", "_").split("_")[0].lower())


def engine_command(engine: str, voice: str, rate: int, *, to_stdout: bool = False) -> list[str]:
    """The engine's argv; it names no text, which always goes on stdin (see module docstring).

    ``-b 1`` says the input is UTF-8 whatever the kiosk's locale; ``--stdout`` writes a WAV
    stream instead of playing through espeak-ng's own audio output.
    """
    command = [engine, "-b", "1", "-v", voice, "-s", str(rate), "--stdin"]
    if to_stdout:
        command.append("--stdout")
    return command


@dataclass(frozen=True, slots=True)
class _Utterance:
    text: str
    language: str
    voice: str
    generation: int


class Speaker:
    """Speaks one prompt at a time on a background thread; a newer prompt interrupts.

    Build it once per kiosk from ``config.speech``; call :meth:`say` on screen changes,
    :meth:`stop` when a visit ends and :meth:`close` when the application exits.
    """

    def __init__(self, settings: SpeechSection, *, engine: str | None = None) -> None:
        self._settings = settings
        self._engine = shutil.which(engine) if engine else find_engine()
        self._cond = threading.Condition()
        self._pending: _Utterance | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._generation = 0
        self._busy = False
        self._closed = False
        self._failing = False
        self._thread: threading.Thread | None = None
        if self.available:
            self._thread = threading.Thread(target=self._run, name="kiosk-speech", daemon=True)
            self._thread.start()

    @property
    def available(self) -> bool:
        """Whether prompts can be spoken: speech is enabled and an engine was found."""
        return self._settings.enabled and self._engine is not None

    @property
    def engine(self) -> str | None:
        """The engine's resolved path, or None when none was found."""
        return self._engine

    def say(self, text: str, language: str, *, sensitive: bool = False) -> bool:
        """Queue ``text`` in ``language``, interrupting the prompt playing; never blocks.

        Returns whether it will be spoken. False, silently, for empty text, disabled speech,
        no engine or an unknown language; False for ``sensitive`` text without a headset,
        because a loudspeaker would tell the people queueing behind the citizen.
        """
        if not isinstance(text, str) or not text.strip() or not self.available:
            return False
        if sensitive and not self._settings.headset:
            log.debug("personal data not spoken: no headset")
            return False
        voice = voice_for(language)
        if voice is None:
            log.debug("no voice for language %r; prompt not spoken", language)
            return False
        with self._cond:
            if self._closed:
                return False
            self._generation += 1
            self._pending = _Utterance(text, language, voice, self._generation)
            self._busy = True
            self._kill_current()
            self._cond.notify_all()
        return True

    def stop(self) -> None:
        """Silence the prompt playing and drop any queued one (the visit has ended)."""
        with self._cond:
            self._generation += 1
            self._pending = None
            self._kill_current()

    def close(self) -> None:
        """Stop speaking and end the worker thread; :meth:`say` returns False afterwards."""
        with self._cond:
            self._closed = True
            self._generation += 1
            self._pending = None
            self._kill_current()
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or playing; for tests and checks, never the UI thread.

        Returns False if ``timeout`` seconds passed first.
        """
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def synthesize(self, text: str, language: str, *, timeout: float = 30.0) -> bytes:
        """Render ``text`` to WAV bytes with the engine's ``--stdout``, without playing it.

        For tests and installation checks on machines with no sound card: it ignores
        ``enabled`` and ``headset`` and blocks until the engine finishes. The text still
        goes on stdin. Raises :class:`SpeechError` when no audio comes out.
        """
        voice = voice_for(language)
        if self._engine is None or voice is None:
            raise SpeechError(f"no speech engine or no voice for {language!r}")
        command = engine_command(self._engine, voice, self._settings.rate, to_stdout=True)
        try:
            result = subprocess.run(
                command, input=text.encode("utf-8"), capture_output=True, timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SpeechError(f"{self._engine} did not run: {type(error).__name__}") from None
        if result.returncode != 0 or result.stdout[:4] != b"RIFF":
            raise SpeechError(
                f"{self._engine} exited with status {result.returncode} "
                f"after {len(result.stdout)} bytes of output"
            )
        return fix_wav_sizes(result.stdout)

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the worker thread -------------------------------------------------------------------

    def _kill_current(self) -> None:
        """Kill the playing engine's process group; the caller holds the lock."""
        process = self._process
        if process is not None:
            _kill_group(process)

    def _run(self) -> None:
        """The worker: speak each utterance handed over by :meth:`say` until closed."""
        while (utterance := self._next()) is not None:
            self._speak(utterance)
            with self._cond:
                if self._pending is None:
                    self._busy = False
                    self._cond.notify_all()
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    def _next(self) -> _Utterance | None:
        """Wait for the next utterance; None once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending is not None or self._closed)
            if self._closed:
                return None
            utterance, self._pending = self._pending, None
            return utterance

    def _speak(self, utterance: _Utterance) -> None:
        """Run the engine for one utterance; report a failure unless it was interrupted."""
        assert self._engine is not None
        command = engine_command(self._engine, utterance.voice, self._settings.rate)
        try:
            # a session of its own, so that one killpg also ends a wrapper script's children
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as error:
            self._report(utterance, f"could not be started ({type(error).__name__})")
            return
        with self._cond:
            self._process = process
            if utterance.generation != self._generation:
                _kill_group(process)  # a newer say() or stop() came while it was starting
        stderr = _feed(process, utterance.text)
        with self._cond:
            # cleared before the process is reaped, so that a kill never hits a reused pid
            self._process = None
            interrupted = utterance.generation != self._generation
        returncode = process.wait()
        if not interrupted:
            self._report(utterance, _problem(returncode, stderr))

    def _report(self, utterance: _Utterance, problem: str | None) -> None:
        """Log the first failure of a run of failures at warning level, never with the text."""
        if problem is None:
            if self._failing:
                log.info("spoken prompts work again")
            self._failing = False
            return
        if self._failing:
            log.debug("speech engine failed again: %s", problem)
            return
        self._failing = True
        log.warning(
            "spoken prompts are not working: %s %s (%s prompt, voice %s); the kiosk carries "
            "on without speech", self._engine, problem, utterance.language, utterance.voice,
        )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the engine's process group (its pid: it was started in a new session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _feed(process: subprocess.Popen[bytes], text: str) -> bytes:
    """Write ``text`` to the engine's stdin, close it, and return all it wrote to stderr.

    A broken pipe only means the engine was killed or died; its exit status tells which.
    """
    assert process.stdin is not None and process.stderr is not None
    with contextlib.suppress(OSError):
        process.stdin.write(text.encode("utf-8"))
    with contextlib.suppress(OSError):
        process.stdin.close()
    with process.stderr:
        return process.stderr.read()


def _problem(returncode: int, stderr: bytes) -> str | None:
    """What went wrong with a finished engine run, or None when it spoke.

    espeak-ng 1.51 exits 0 when it has no audio device; it then prints ``error: No such
    file or directory`` after ALSA's complaints, so a line starting with "error" counts.
    The stderr text itself is not returned: it is the engine's to word, not ours to log.
    """
    if returncode != 0:
        return f"exited with status {returncode}"
    if any(line.lstrip().lower().startswith(b"error") for line in stderr.splitlines()):
        return "reported an error on stderr (no audio device?)"
    return None


def fix_wav_sizes(data: bytes) -> bytes:
    """Write the real RIFF and ``data`` chunk sizes into a WAV streamed by ``--stdout``.

    When espeak-ng writes to a pipe it cannot seek back, so both sizes hold a 2 GiB
    placeholder and readers such as :mod:`wave` would report a wrong length.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    fixed = bytearray(data)
    struct.pack_into("<I", fixed, 4, len(data) - 8)
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset:offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if chunk_id == b"data":
            struct.pack_into("<I", fixed, offset + 4, len(data) - offset - 8)
            break
        offset += 8 + size + (size & 1)
    return bytes(fixed)

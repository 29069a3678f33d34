"""A SAM_A reader that speaks the real bytes, so the driver is tested on the real serial path.

:class:`SamEmulator` is a pure state machine (request bytes in, reply bytes out) with a card
that can be presented and removed and with injectable faults. :meth:`SamEmulator.start_pty`
serves it on a pseudo-terminal, so any pyserial program, including the kiosk's driver
configured with ``serial:///dev/pts/N``, talks to it exactly as to a reader on a USB cable.

Behaviour copied from real readers because drivers trip over it: after a successful read the
same card is *not found again* until it is removed and presented again.

All sample identities here are synthetic: fake names (测试…), numbers made up with a valid
check character, a photo that is a counting pattern rather than a WLT image.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from drivers.idcard.codec import (
    BadChecksum,
    Command,
    FrameError,
    FrameParser,
    Request,
    build_reply,
)
from drivers.idcard.identity import Identity, build_text_block, id_check_char

__all__ = ["SAMPLE_CARDS", "Fault", "SamEmulator", "ScriptedCard", "synthetic_number"]

OK, FOUND, NOT_FOUND, SELECT_FAILED, READ_FAILED = 0x90, 0x9F, 0x80, 0x81, 0x41
NO_SUCH_ITEM, BAD_CHECKSUM, BAD_LENGTH, BAD_COMMAND, SELF_TEST_FAILED = 0x91, 0x10, 0x11, 0x21, 0x60
#: Garbage sent before a reply by :attr:`Fault.GARBAGE`: noise and a preamble cut short.
GARBAGE = b"\x00\xff\x13\xaa\xaa\x96\xaa\xaa\xaa\x96\x69\xff\xff\x55\xaa\xaa\xaa\x96"


def synthetic_number(first17: str) -> str:
    """Complete 17 made-up digits with their check character (for test cards)."""
    return first17 + id_check_char(first17)


def _photo(seed: int) -> bytes:
    return bytes((seed + i) % 256 for i in range(1024))


class Fault(StrEnum):
    """Things that go wrong with a reader, a card or the line."""

    NO_CARD = "no_card"  # the card is taken away now
    REMOVED_MID_READ = "removed_mid_read"  # next read answers 0x41 and the card is gone
    BAD_CHECKSUM = "bad_checksum"  # next reply has a wrong check byte
    TRUNCATED = "truncated"  # next reply stops halfway
    SILENCE = "silence"  # next request gets no answer
    GARBAGE = "garbage"  # noise on the line before the next reply
    SAM_SELF_TEST_FAIL = "sam_self_test_fail"  # every command answers 0x60 until cleared
    UNPLUG = "unplug"  # the cable is pulled: the pty goes away


@dataclass(frozen=True)
class ScriptedCard:
    """A card to put on the reader. ``read_status`` other than 0x90 makes every read fail
    with that SW3 (0x32 for a card the SAM does not trust, 0x40 for a foreign card)."""

    identity: Identity
    read_status: int = OK
    fingerprint: bytes = b""  # 1,024 opaque bytes on cards with fingerprints


def _resident(name: str, number17: str, seed: int, **extra: str) -> ScriptedCard:
    fields = {
        "name": name, "gender": "男", "nation": "汉", "birth_date": number17[6:14],
        "address": "测试省测试市模拟路1号", "issuer": "测试市公安局模拟分局",
        "valid_from": "20200101", "valid_to": "20400101",
    } | extra
    number = synthetic_number(number17)
    return ScriptedCard(Identity(id_number=number, photo=_photo(seed), **fields))


#: Cards for tests and demos: every card type, long-term validity, rare name characters.
SAMPLE_CARDS: dict[str, ScriptedCard] = {
    "resident": _resident("测试甲", "11010119900307801", 1),
    "rare_name": _resident("测试堃喆䶮𠮷", "51160219851111002", 2, gender="女", nation="土家",
                           valid_to="长期"),
    "hmt": ScriptedCard(Identity(
        name="测试港人", gender="女", nation="", birth_date="19940823",
        address="测试省测试市模拟路2号", id_number=synthetic_number("81000019940823002"),
        issuer="测试市公安局", valid_from="20210101", valid_to="20260101", card_type="J",
        pass_number="H00000000", issue_count="01", photo=_photo(3),
    )),
    "foreign_2017": ScriptedCard(Identity(
        name="测试外", gender="男", nation="", birth_date="19800101", address="",
        id_number="TST110080010100", issuer="", valid_from="20170101", valid_to="20270101",
        card_type="I", english_name="TEST, SAMPLE PERSON", nationality="CAN",
        card_version="01", authority_code="1100", photo=_photo(4),
    )),
    "foreign_2023": ScriptedCard(Identity(
        name="测试永居", gender="女", nation="", birth_date="19850505", address="",
        id_number=synthetic_number("93110019850505002"), issuer="", valid_from="20230101",
        valid_to="20330101", card_type="Y",
        english_name="TESTPERSON-LONGNAME, SAMPLE FIRST MIDDLE EXTRA",
        nationality="CAN", renewal_count="00", previous_number="", photo=_photo(5),
    )),
}


@dataclass
class _Pending:
    fault: Fault
    on: Command | None
    times: int | None  # None: until cleared


@dataclass
class SamEmulator:
    """The reader side of the wire. Thread-safe: the pty thread and the test share it.

    ``baudrate`` paces pty writes like a UART would (a pty alone delivers at memory speed);
    ``None`` sends at once. ``delays`` makes the reader think before it answers a command
    (seconds, on the pty only), as a slow real reader does: the reference allows 0.5 s for
    find and select, 2 s for ``30 01`` and 3 s for ``30 10``.
    """

    card: ScriptedCard | None = None
    sam_id: bytes = bytes(range(16))
    baudrate: int | None = None
    delays: dict[Command, float] = field(default_factory=dict)
    _faults: list[_Pending] = field(default_factory=list)
    _self_test_failed: bool = False
    _read_done: bool = False
    _found: bool = False
    _selected: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _parser: FrameParser = field(default_factory=lambda: FrameParser(min_len=3))
    _master: int | None = None
    _slave: int | None = None
    _wake: tuple[int, int] | None = None
    _thread: threading.Thread | None = None
    #: The last requests received, oldest first (bounded, so a long demo cannot grow it).
    requests: deque[Request] = field(default_factory=lambda: deque(maxlen=1000))

    # --- the card -------------------------------------------------------------------------
    def present(self, card: ScriptedCard | str) -> None:
        """Put a card on the reader (a :data:`SAMPLE_CARDS` key or a :class:`ScriptedCard`)."""
        with self._lock:
            self.card = SAMPLE_CARDS[card] if isinstance(card, str) else card
            self._read_done = self._found = self._selected = False

    def remove(self) -> None:
        """Take the card away; the next presentation can be read again."""
        with self._lock:
            self.card = None
            self._read_done = self._found = self._selected = False

    # --- faults ---------------------------------------------------------------------------
    def inject(self, fault: Fault, on: Command | None = None, times: int | None = 1) -> None:
        """Make ``fault`` happen on the next ``times`` replies (to ``on`` only, if given).

        ``times=None`` keeps it until :meth:`clear_faults`. ``NO_CARD`` and ``UNPLUG`` act at
        once; ``SAM_SELF_TEST_FAIL`` lasts until cleared.
        """
        if fault is Fault.NO_CARD:
            self.remove()
        elif fault is Fault.UNPLUG:
            self._unplug()
        elif fault is Fault.SAM_SELF_TEST_FAIL:
            with self._lock:
                self._self_test_failed = True
        else:
            if fault is Fault.REMOVED_MID_READ and on is None:
                on = Command.READ_BASE
            with self._lock:
                self._faults.append(_Pending(fault, on, times))

    def clear_faults(self) -> None:
        """Back to a healthy reader (the card, if any, stays)."""
        with self._lock:
            self._faults.clear()
            self._self_test_failed = False

    def _take_fault(self, command: Command | None) -> Fault | None:
        for pending in self._faults:
            if pending.on is None or pending.on == command:
                if pending.times is not None:
                    pending.times -= 1
                    if pending.times <= 0:
                        self._faults.remove(pending)
                return pending.fault
        return None

    # --- the protocol ---------------------------------------------------------------------
    def respond(self, data: bytes) -> bytes:
        """Feed bytes from the host; return every byte the reader sends back."""
        return b"".join(reply for _, reply in self.respond_timed(data))

    def respond_timed(self, data: bytes) -> list[tuple[float, bytes]]:
        """Like :meth:`respond`, one reply per request with its thinking time from ``delays``."""
        out: list[tuple[float, bytes]] = []
        with self._lock:
            self._parser.feed(data)
            while True:
                try:
                    frame = self._parser.next_frame()
                except BadChecksum:
                    out.append((0.0, build_reply(BAD_CHECKSUM)))
                    continue
                except FrameError:
                    out.append((0.0, build_reply(BAD_LENGTH)))
                    continue
                if frame is None:
                    return out
                request = Request.from_frame(frame)
                try:
                    command: Command | None = Command((request.cmd, request.para))
                except ValueError:
                    command = None
                delay = self.delays.get(command, 0.0) if command is not None else 0.0
                out.append((delay, self._answer(request, command)))

    def _answer(self, request: Request, command: Command | None) -> bytes:
        self.requests.append(request)
        fault = self._take_fault(command)
        if fault is Fault.SILENCE:
            return b""
        if fault is Fault.REMOVED_MID_READ:
            self.card = None
            self._read_done = self._found = self._selected = False
            reply = build_reply(READ_FAILED)
        else:
            reply = self._reply(command)
        if fault is Fault.BAD_CHECKSUM:
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        elif fault is Fault.TRUNCATED:
            reply = reply[: max(8, len(reply) // 2)]
        elif fault is Fault.GARBAGE:
            reply = GARBAGE + reply
        return reply

    def _reply(self, command: Command | None) -> bytes:
        if command is None:
            return build_reply(BAD_COMMAND)
        if self._self_test_failed:
            return build_reply(SELF_TEST_FAILED)
        if command in (Command.RESET_SAM, Command.SAM_STATUS, Command.SET_MAX_RF):
            return build_reply(OK)
        if command is Command.SAM_ID:
            return build_reply(OK, self.sam_id)
        if command is Command.FIND_CARD:
            self._found = self.card is not None and not self._read_done
            self._selected = False
            return build_reply(FOUND, bytes(4)) if self._found else build_reply(NOT_FOUND)
        if command is Command.SELECT_CARD:
            self._selected = self._found
            return build_reply(OK, bytes(8)) if self._selected else build_reply(SELECT_FAILED)
        if command is Command.READ_NEW_ADDRESS:
            if not self._selected or self.card is None:
                return build_reply(READ_FAILED)
            new_address = self.card.identity.new_address
            if not new_address:
                return build_reply(NO_SUCH_ITEM)
            # 35 UCS-2 characters, padded with spaces like the card's text block
            return build_reply(OK, new_address.ljust(35)[:35].encode("utf-16-le"))
        # READ_BASE / READ_BASE_FP
        if not self._selected or self.card is None:
            return build_reply(READ_FAILED)
        if self.card.read_status != OK:
            return build_reply(self.card.read_status)
        identity = self.card.identity
        text, photo = build_text_block(identity), identity.photo
        lengths = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
        fingerprint = b""
        if command is Command.READ_BASE_FP:
            fingerprint = self.card.fingerprint
            lengths += len(fingerprint).to_bytes(2, "big")
        self._read_done = True
        return build_reply(OK, lengths + text + photo + fingerprint)

    # --- the pty --------------------------------------------------------------------------
    def start_pty(self) -> str:
        """Serve the emulator on a new pty; return the slave path (e.g. ``/dev/pts/7``).

        The slave is set raw at once, before anything is written, because a fresh pty is in
        cooked mode and would echo and swallow protocol bytes such as 0x03 and 0x11. The
        emulator keeps its own slave descriptor open so the master does not report EIO
        between two client sessions.
        """
        if self._thread is not None:
            raise RuntimeError("pty already started")
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="sam-emulator", daemon=True)
        self._thread.start()
        return os.ttyname(slave)

    def stop(self) -> None:
        """Stop serving and close the pty (idempotent)."""
        thread, self._thread = self._thread, None
        if self._wake is not None:
            os.write(self._wake[1], b"x")
        if thread is not None:
            thread.join(timeout=2)
        for fd in (self._master, self._slave, *(self._wake or ())):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = self._wake = None

    def _unplug(self) -> None:
        """Close the master and our slave: the client sees a hung-up line, like a pulled cable."""
        self.stop()

    def _serve(self) -> None:
        master, wake = self._master, self._wake
        assert master is not None and wake is not None
        while True:
            try:
                ready, _, _ = select.select([master, wake[0]], [], [])
                if wake[0] in ready:
                    return
                data = os.read(master, 4096)
            except OSError:  # EIO once the slave is gone, EBADF after stop()
                return
            try:
                for delay, reply in self.respond_timed(data):
                    if delay and self._stopped(wake[0], delay):
                        return
                    self._send(master, reply)
            except OSError:
                return

    @staticmethod
    def _stopped(wake: int, delay: float) -> bool:
        """Think for ``delay`` seconds; ``True`` if :meth:`stop` was called meanwhile."""
        ready, _, _ = select.select([wake], [], [], delay)
        return bool(ready)

    def _send(self, master: int, data: bytes) -> None:
        chunk = 64 if self.baudrate else max(1, len(data))
        for start in range(0, len(data), chunk):
            piece = data[start : start + chunk]
            os.write(master, piece)
            if self.baudrate:
                time.sleep(10 * len(piece) / self.baudrate)

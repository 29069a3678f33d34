"""The kiosk's log: JSON lines in a rotated, size-bounded file, personal data masked once.

Why one file of JSON lines: a technician greps it on the kiosk, a fleet's log shipper
(journald, Vector, Filebeat...) parses it without a pattern per message, and a diagnostic
bundle can include it as it is. Why rotated by size: a kiosk cut off for weeks must not fill
the disk that holds citizens' queued applications.

Why redaction lives in ONE place, a :class:`RedactingFilter` on every handler: records come
from our code, from libraries and from Kivy's own ``kivy`` logger (``KIVY_LOG_MODE=PYTHON``
makes it propagate to the root logger instead of writing its own files), and only a
handler sees them all. The filter masks what a pattern can recognise - ID numbers (18
characters with a real birth date, the old 15-digit ones, old foreigners' permanent
residence numbers) and mobile numbers - and every argument the code wrapped in
:func:`personal`. Names and addresses cannot be recognised by a pattern: the code never
passes them to a log call except through :func:`personal`, and tests scan the log of real
flows for the test citizens' names.

Exceptions are recorded by type and frames, never by message: a ``ValueError`` raised while
parsing a form may quote what the citizen typed.

This module imports nothing of Kivy, so the command line and the tests use it as it is.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import logging.handlers
import os
import re
import stat
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

__all__ = [
    "LEVELS",
    "JsonLineFormatter",
    "LogSetup",
    "Personal",
    "RedactingFilter",
    "describe_exception",
    "log_path",
    "personal",
    "redact",
    "setup_logging",
]

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG, "info": logging.INFO,
    "warning": logging.WARNING, "error": logging.ERROR,
}
"""The values of ``[logging] level``."""

LOG_DIR = "logs"
MAX_MESSAGE_CHARS = 4000
"""A record's message is cut here, so one record cannot blow the size bound of a file."""
MAX_FRAMES = 40
"""Innermost frames kept per exception: the outer ones are the same CLI/Kivy loop every time."""
MAX_CHAIN = 5
"""``raise ... from`` links followed; a longer chain is a loop or a library's wrapping."""

ID_MASK = "[id-number]"
PHONE_MASK = "[phone]"
PERSONAL_MASK = "[personal]"

# ------------------------------------------------------------------------------ redaction

# Boundaries are ASCII digits only (not \b): Chinese text around a number ("身份证号110...",
# "电话138...") must not protect it, but a longer run of digits (the platform's 20-digit
# application numbers, timestamps in ns) is not an ID number.
_ID18 = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?P<y>(?:18|19|20)[0-9]{2})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"
    r"[0-9]{3}[0-9Xx](?![0-9])")
_ID15 = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?P<y>[0-9]{2})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"
                   r"[0-9]{3}(?![0-9])")
_FOREIGN15 = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{3}[0-9]{12}(?![0-9A-Za-z])")
"""Foreigners' permanent residence numbers before 2017: three letters and twelve digits."""
_MOBILE = re.compile(
    r"(?<![0-9.])(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")
"""Mainland mobiles 13x-19x, also written +86 138 1234 5678; not after a '.' (a decimal)."""


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _mask_id18(match: re.Match[str]) -> str:
    # the check character is not required: a mistyped number is still nearly someone's;
    # the real birth date is, so that receipt and item codes (digits, no date) survive
    if _real_date(int(match["y"]), int(match["m"]), int(match["d"])):
        return ID_MASK
    return match[0]


def _mask_id15(match: re.Match[str]) -> str:
    if _real_date(1900 + int(match["y"]), int(match["m"]), int(match["d"])):
        return ID_MASK
    return match[0]


def redact(text: str) -> str:
    """``text`` with ID numbers and mobile numbers masked; everything else as it was.

    Receipt numbers (``K511602-HALL-01-20261127-000001-7``), the platform's 20-digit
    application numbers, item codes and ISO timestamps have no run of digits that fits,
    which tests/test_logs.py checks on the whole sample catalogue.
    """
    if not any(ch.isdigit() for ch in text):
        return text
    text = _ID18.sub(_mask_id18, text)
    text = _ID15.sub(_mask_id15, text)
    text = _FOREIGN15.sub(ID_MASK, text)
    return _MOBILE.sub(PHONE_MASK, text)


class Personal:
    """A value the code marks as personal (a name, an address): logged as ``[personal]``.

    ``log.info("card read for %s", personal(identity.name))``. Its ``str``/``repr`` are the
    mask too, so it stays masked even where a record bypasses our handlers (a test's caplog).
    """

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return PERSONAL_MASK

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return PERSONAL_MASK


def personal(value: object) -> Personal:
    """Mark ``value`` as personal data for the log (see :class:`Personal`)."""
    return value if isinstance(value, Personal) else Personal(value)


def _shield(value: object) -> object:
    return PERSONAL_MASK if isinstance(value, Personal) else value


class RedactingFilter(logging.Filter):
    """Renders each record's message once, with personal data masked, before any handler
    formats it; the arguments are dropped so no formatter can render them again."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "kiosk_redacted", False):
            return True
        args = record.args
        try:
            if isinstance(args, Mapping):
                text = str(record.msg) % {key: _shield(v) for key, v in args.items()}
            elif args:
                text = str(record.msg) % tuple(_shield(v) for v in args)
            else:
                text = str(record.msg)
        except Exception:  # a bad format string must not lose the record
            text = f"{record.msg} [arguments dropped: they did not fit the message]"
        record.msg = redact(text)
        record.args = None
        record.kiosk_redacted = True
        return True


# ----------------------------------------------------------------------------- formatting


def _type_name(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def describe_exception(error: BaseException, depth: int = 0) -> dict[str, Any]:
    """Type and frames of ``error`` (and of its cause), never its message or arguments."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)[-MAX_FRAMES:]
    described: dict[str, Any] = {
        "type": _type_name(type(error)),
        "frames": [{"file": f.filename, "line": f.lineno, "function": f.name,
                    "code": (f.line or "")[:200]} for f in frames],
    }
    linked = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if linked is not None and depth < MAX_CHAIN:
        described["cause"] = describe_exception(linked, depth + 1)
    return described


def _iso_utc(created: float) -> str:
    stamp = _dt.datetime.fromtimestamp(created, tz=_dt.UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message, and the
    exception's type and frames when there is one. Chinese stays readable (UTF-8)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": message[:MAX_MESSAGE_CHARS],
        }
        if len(message) > MAX_MESSAGE_CHARS:
            entry["truncated"] = len(message)
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = describe_exception(record.exc_info[1])
        if record.stack_info:
            entry["stack"] = record.stack_info[-MAX_MESSAGE_CHARS:]
        return json.dumps(entry, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """One line on stderr (the journal under systemd): level, logger, message, and only the
    exception's type; the full record is in the file."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            line += f" [{_type_name(type(record.exc_info[1]))}]"
        return line.replace("\r", "\\r").replace("\n", "\\n")[:MAX_MESSAGE_CHARS]


def _not_file_only(record: logging.LogRecord) -> bool:
    """False for records logged with ``extra={"file_only": True}``: the caller prints its
    own line (the command line's "failed unexpectedly") and one line is enough."""
    return not getattr(record, "file_only", False)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (pytest's capture, a restored one)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600 (and tightened if they exist), so
    the log is private to the kiosk's user whatever the umask, and which a full or failing
    disk does not turn into tracebacks on stderr or a failed command: the kiosk's own gates
    report a full disk to the citizen and the technician; records that cannot be written
    are counted in ``dropped``."""

    dropped = 0

    def _open(self) -> Any:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.baseFilename, flags, 0o600)
        if stat.S_ISREG(os.fstat(fd).st_mode):  # never a device node the path points at
            with contextlib.suppress(OSError):  # not ours to change: the open still works
                os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def handleError(self, record: logging.LogRecord) -> None:
        self.dropped += 1

    def flush(self) -> None:
        try:
            super().flush()
        except OSError:  # emit() flushes each record: this is where a full disk shows
            self.dropped += 1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()


# ---------------------------------------------------------------------------------- set-up


def log_path(config: KioskConfig, name: str = "kiosk", home: Path | None = None) -> Path:
    """Where ``setup_logging`` writes: ``HOME/logs/NAME.log``, HOME being ``data_dir``
    unless given (the reference platform keeps its log beside its own database)."""
    return (config.storage.data_dir if home is None else home) / LOG_DIR / f"{name}.log"


@dataclass
class LogSetup:
    """What :func:`setup_logging` installed; :meth:`close` puts the previous state back
    (the command line closes it when the command ends, so tests calling ``main()`` in
    one process do not pile up handlers)."""

    path: Path | None
    """The log file, or None when it could not be opened (``problem`` says why)."""
    problem: str = ""
    handlers: list[logging.Handler] = field(default_factory=list)
    previous_level: int = logging.WARNING
    previous_thread_hook: Any = None

    def close(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        self.handlers = []
        root.setLevel(self.previous_level)
        if self.previous_thread_hook is not None:
            threading.excepthook = self.previous_thread_hook
            self.previous_thread_hook = None


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    """An exception that ends a thread: logged (type and frames), not printed with its
    message on stderr as Python's default hook does."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("kiosk.threads").error(
        "thread %s ended by an uncaught exception", name,
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback))


def setup_logging(config: KioskConfig, *, console: bool, name: str = "kiosk",
                  home: Path | None = None) -> LogSetup:
    """Send every record (ours, libraries', Kivy's) through :class:`RedactingFilter` to a
    JSON-lines file ``data_dir/logs/NAME.log`` rotated at ``[logging] max_bytes`` with
    ``[logging] backups`` old files, and with ``console`` also warnings and errors as one
    line each on stderr (what Python printed without any set-up, minus tracebacks).

    Handlers installed by an earlier call are replaced, not added to. A log file that cannot
    be opened (read-only disk, wrong owner) is no reason to stop a command: ``path`` is then
    None and ``problem`` says why.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "kiosk_handler", False):
            root.removeHandler(handler)
            handler.close()
    settings = config.logging
    setup = LogSetup(path=None, previous_level=root.level)
    redacting = RedactingFilter()
    path = log_path(config, name, home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        file_handler: logging.Handler = _PrivateRotatingFileHandler(
            path, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8")
    except OSError as error:
        setup.problem = f"cannot write {path.parent}: {type(error).__name__}"
    else:
        file_handler.setLevel(LEVELS[settings.level])
        file_handler.setFormatter(JsonLineFormatter())
        setup.handlers.append(file_handler)
        setup.path = path
    if console:
        stderr_handler = _StderrHandler()
        stderr_handler.setLevel(logging.WARNING)
        stderr_handler.setFormatter(ConsoleFormatter())
        stderr_handler.addFilter(_not_file_only)
        setup.handlers.append(stderr_handler)
    for handler in setup.handlers:
        handler.addFilter(redacting)
        handler.kiosk_handler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    wanted = min(LEVELS[settings.level], logging.WARNING if console else logging.CRITICAL)
    if root.level != logging.NOTSET and wanted < root.level:  # NOTSET lets all through
        root.setLevel(wanted)
    setup.previous_thread_hook = threading.excepthook
    threading.excepthook = _thread_hook
    if setup.problem:  # said where a technician looks: stderr, the journal
        logging.getLogger(__name__).warning("no log file: %s", setup.problem)
    return setup

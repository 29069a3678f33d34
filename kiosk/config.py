"""The kiosk's configuration: one INI file, every key optional with a documented default.

INI because Kivy itself is configured that way and the technicians who install kiosks in
service halls already edit such files. The file is chosen by ``kiosk --config PATH``, else
by ``$KIOSK_CONFIG``; with neither the built-in defaults apply, so a fresh checkout runs
with emulated devices and no file at all.

Everything is checked when the file is loaded, not when a value is first used: a typo found
at start-up is a message for the technician, the same typo found at the counter is a broken
kiosk in front of a citizen. Every problem becomes a :class:`ConfigError` whose text is one
line naming the file, line, section, key, the bad value and what is allowed.

docs/configuration.md is the reference for every key; keep it in step with ``_SCHEMA``.
"""

from __future__ import annotations

import configparser
import difflib
import ipaddress
import math
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drivers.device_url import INDEX, DeviceURL, DeviceURLError, parse_device_url

__all__ = [
    "ENV_VAR",
    "ConfigError",
    "DevicesSection",
    "DisplaySection",
    "KioskConfig",
    "KioskSection",
    "LoggingSection",
    "MetricsSection",
    "OutboxSection",
    "PlatformSection",
    "SpeechSection",
    "StaffCallSection",
    "StorageSection",
    "choose_config_path",
    "config_to_ini",
    "default_config_text",
    "default_data_dir",
    "load_config",
    "write_default_config",
]

#: Environment variable naming the configuration file when ``--config`` is not given.
ENV_VAR = "KIOSK_CONFIG"
#: Directory name under ``$XDG_DATA_HOME`` (or ``~/.local/share``) for the kiosk's data.
APP_DIR_NAME = "gov-kiosk"
#: A configuration file is a few kilobytes; anything this big is the wrong file.
MAX_FILE_BYTES = 1 << 20


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is a one-line message for the technician."""


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/gov-kiosk``, else ``~/.local/share/gov-kiosk`` (XDG base directories).

    A relative ``$XDG_DATA_HOME`` is ignored, as the XDG specification requires.
    """
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / APP_DIR_NAME
    return _home(environ) / ".local" / "share" / APP_DIR_NAME


@dataclass(frozen=True, slots=True)
class KioskSection:
    """``[kiosk]``: who this kiosk is and how it treats the citizen in front of it."""

    id: str = "511602-HALL-01"
    language: str = "zh_CN"
    orientation: str = "portrait"
    idle_timeout: int = 90
    idle_warning: int = 30
    large_font_scale: float = 1.4
    hall: str = "广安区政务服务中心"
    guide_link: str = ""
    site_profile: Path | None = None
    """The site profile file (docs/site-profiles.md); None: every matter, the hall's words."""


@dataclass(frozen=True, slots=True)
class StorageSection:
    """``[storage]``: where the kiosk keeps its database, offline catalogue and keys."""

    data_dir: Path = field(default_factory=lambda: default_data_dir())
    master_key_file: Path = field(default_factory=lambda: default_data_dir() / "master.key")

    @property
    def database(self) -> Path:
        """The SQLite database; derived so that moving ``data_dir`` moves everything."""
        return self.data_dir / "kiosk.db"

    @property
    def attachments_dir(self) -> Path:
        """Sealed attachment files; derived, not a key, so they always sit beside the database.

        Attachments and the rows that reference them must move and be backed up together;
        a separate key would invite a configuration where one is restored without the other.
        """
        return self.data_dir / "attachments"


@dataclass(frozen=True, slots=True)
class PlatformSection:
    """``[platform]``: the government service platform this kiosk talks to."""

    url: str = "http://127.0.0.1:8470/api/v1"
    key_file: Path = field(default_factory=lambda: default_data_dir() / "platform.key")
    timeout: float = 10.0
    health_interval: int = 15
    sync_interval: int = 10
    ca_file: Path | None = None
    """PEM bundle of the certificate authorities trusted for the platform; None = the
    default bundle of ``requests`` (certifi). Never taken from ``$REQUESTS_CA_BUNDLE``."""
    proxy: str = ""
    """Proxy for https:// requests to the platform; empty = direct. Never taken from
    ``$HTTPS_PROXY`` and friends; plain http (loopback only) never goes through it."""


@dataclass(frozen=True, slots=True)
class OutboxSection:
    """``[outbox]``: how long sent applications are kept and when new ones are refused.

    The limits exist so that a kiosk cut off from the platform for days stops taking
    applications it cannot deliver, instead of filling its disk with citizens' data.
    """

    retention_days: int = 30
    min_free_mb: int = 200
    max_pending: int = 1000
    max_pending_age_days: int = 7


@dataclass(frozen=True, slots=True)
class DevicesSection:
    """``[devices]``: one device URL per peripheral (see :mod:`drivers.device_url`)."""

    idcard: DeviceURL = field(default_factory=lambda: DeviceURL("emulator", "idcard"))
    printer: DeviceURL = field(default_factory=lambda: DeviceURL("emulator", "printer"))
    camera: DeviceURL = field(default_factory=lambda: DeviceURL("emulator", "camera"))
    paper_roll_slips: int = 250
    """Receipts one paper roll holds: the diagnostics warn at 80 % of it (kiosk.operations.
    paper), before the printer's near-end sensor, which many kiosk printers lack."""


@dataclass(frozen=True, slots=True)
class DisplaySection:
    """``[display]``: the window, and whether kiosk lockdown is on."""

    developer: bool = False
    fullscreen: bool = True
    width: int = 0
    height: int = 0
    rotation: int = 0
    maxfps: int = 30

    @property
    def lockdown(self) -> bool:
        """Kiosk lockdown (no Esc, no F1, no cursor, no window close) is on unless developing."""
        return not self.developer

    @property
    def windowed(self) -> bool:
        """Developer mode always runs in a window; otherwise ``fullscreen`` decides."""
        return self.developer or not self.fullscreen


@dataclass(frozen=True, slots=True)
class SpeechSection:
    """``[speech]``: spoken prompts for citizens who cannot read the screen well.

    Personal data is spoken only into a headset: a loudspeaker in a hall would tell the
    queue behind the citizen their name and ID number.
    """

    enabled: bool = True
    headset: bool = False
    rate: int = 140


@dataclass(frozen=True, slots=True)
class StaffCallSection:
    """``[staff_call]``: what "Call staff" does besides the chime on the kiosk's speaker.

    The call always shows in the platform heartbeat; ``command`` and ``url`` reach a hall's
    own paging system (a pager gateway, a light over the kiosk, a message to the duty desk).
    """

    command: str = ""
    url: str = ""
    timeout: float = 5.0
    repeat_chime: int = 30


@dataclass(frozen=True, slots=True)
class MetricsSection:
    """``[metrics]``: the Prometheus metrics page, on 127.0.0.1 only (docs/monitoring.md).

    Loopback only because the page has no authentication: a collector on the kiosk itself
    scrapes it and forwards to the province's monitoring.
    """

    port: int = 9108


@dataclass(frozen=True, slots=True)
class LoggingSection:
    """``[logging]``: the kiosk's JSON-lines log, data_dir/logs/kiosk.log (docs/deploy.md).

    Bounded by size, not by age: a kiosk offline for weeks must not fill the disk that holds
    citizens' queued applications; at most (backups + 1) x max_bytes stay on disk.
    """

    level: str = "info"
    max_bytes: int = 5 << 20
    backups: int = 5


@dataclass(frozen=True, slots=True)
class KioskConfig:
    """The whole configuration. Build it with :func:`load_config`, not by hand.

    ``source`` is the absolute path of the file it came from (``None`` for built-in
    defaults); it is left out of comparisons so that equal settings compare equal.
    """

    kiosk: KioskSection = field(default_factory=KioskSection)
    storage: StorageSection = field(default_factory=StorageSection)
    platform: PlatformSection = field(default_factory=PlatformSection)
    outbox: OutboxSection = field(default_factory=OutboxSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    speech: SpeechSection = field(default_factory=SpeechSection)
    staff_call: StaffCallSection = field(default_factory=StaffCallSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    source: Path | None = field(default=None, compare=False)

    @property
    def window_size(self) -> tuple[int, int]:
        """Window size when not full screen; a 0 width or height comes from the orientation."""
        if self.kiosk.orientation == "landscape":
            width, height = 1920, 1080
        else:
            width, height = 1080, 1920
        return (self.display.width or width, self.display.height or height)


# --------------------------------------------------------------------------- value parsers


class _Invalid(ValueError):
    """A value parser's complaint; ``shown`` replaces the value in the message (secrets)."""

    def __init__(self, reason: str, shown: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.shown = shown


@dataclass(frozen=True, slots=True)
class _Context:
    """What a value parser may need besides the text: relative paths and ``~`` expansion."""

    base: Path
    environ: Mapping[str, str]


_Parser = Callable[[str, _Context], Any]
_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_ID_RE = re.compile(r"[A-Za-z0-9-]{1,32}", re.ASCII)
_MAX_HALL = 64


def _format_float(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _integer(lo: int, hi: int, unit: str = "", why: str = "") -> _Parser:
    """Whole numbers in ``lo..hi``; ASCII digits only, so a full-width ９０ is an error."""
    of_unit = f" of {unit}" if unit else ""
    in_unit = f" {unit}" if unit else ""

    def parse(text: str, ctx: _Context) -> int:
        if not _INT_RE.fullmatch(text):
            raise _Invalid(f"not a whole number{of_unit} ({lo}..{hi})")
        value = int(text) if len(text) <= 18 else hi + 1
        if not lo <= value <= hi:
            raise _Invalid(f"must be {lo}..{hi}{in_unit}{why}")
        return value

    return parse


def _decimal(lo: float, hi: float, unit: str = "") -> _Parser:
    """Decimal numbers in ``lo..hi``; no exponents, ``nan`` or ``inf`` in a settings file."""
    of_unit = f" of {unit}" if unit else ""
    in_unit = f" {unit}" if unit else ""
    bounds = f"{_format_float(lo)}..{_format_float(hi)}"

    def parse(text: str, ctx: _Context) -> float:
        if len(text) > 32 or not _DECIMAL_RE.fullmatch(text):
            raise _Invalid(f"not a number{of_unit} ({bounds})")
        value = float(text)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise _Invalid(f"must be {bounds}{in_unit}")
        return value

    return parse


def _choice(*allowed: str) -> _Parser:
    """Exactly one of ``allowed`` (case-sensitive, as the locale and Kivy names are)."""
    listed = " or ".join(allowed) if len(allowed) <= 2 else ", ".join(allowed)

    def parse(text: str, ctx: _Context) -> str:
        if text not in allowed:
            raise _Invalid(f"must be {listed}")
        return text

    return parse


def _boolean(text: str, ctx: _Context) -> bool:
    """configparser's words: 1/0, yes/no, true/false, on/off (any case)."""
    state = configparser.ConfigParser.BOOLEAN_STATES.get(text.lower())
    if state is None:
        raise _Invalid("must be true or false (also yes/no, on/off, 1/0)")
    return state


def _kiosk_id(text: str, ctx: _Context) -> str:
    if not _ID_RE.fullmatch(text):
        raise _Invalid("must be 1..32 letters, digits or hyphens, e.g. 511602-HALL-01")
    return text


def _hall(text: str, ctx: _Context) -> str:
    if not text or len(text) > _MAX_HALL or not text.isprintable():
        raise _Invalid(f"must be one line of 1..{_MAX_HALL} printable characters")
    return text


def _rotation(text: str, ctx: _Context) -> int:
    if text not in ("0", "90", "180", "270"):
        raise _Invalid("must be 0, 90, 180 or 270 (degrees)")
    return int(text)


def _zero_or(lo: int, hi: int, unit: str, zero_means: str) -> _Parser:
    """0 (which means ``zero_means``) or a whole number in ``lo..hi``."""

    def parse(text: str, ctx: _Context) -> int:
        if not _INT_RE.fullmatch(text):
            raise _Invalid(f"not a whole number of {unit} (0, or {lo}..{hi})")
        value = int(text) if len(text) <= 18 else -1
        if value != 0 and not lo <= value <= hi:
            raise _Invalid(f"must be 0 ({zero_means}) or {lo}..{hi} {unit}")
        return value

    return parse


_window_dimension = _zero_or(320, 7680, "pixels", "from orientation")
"""0 (take it from the orientation) or a plausible pixel count."""


def _path(text: str, ctx: _Context) -> Path:
    """A filesystem path; ``~`` is expanded and a relative path joins the file's directory.

    Relative to the file rather than the working directory because a kiosk service starts
    from wherever systemd puts it, and a configuration should mean the same from anywhere.
    """
    if not text:
        raise _Invalid("empty; leave the key out to use the default")
    if not text.isprintable():
        raise _Invalid("contains control or invisible characters")
    if text == "~" or text.startswith("~/"):
        path = _home(ctx.environ) / text[2:]
    else:
        path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        path = ctx.base / path
    return Path(os.path.normpath(path))


def _platform_url(text: str, ctx: _Context) -> str:
    """Platform base URL; plain http only to this machine, as the platform contract says.

    Citizens' ID numbers and photos travel over this link, so anything that leaves the box
    must be https; http stays allowed for a local gateway or the reference platform.
    """
    if not text:
        raise _Invalid("empty; expected e.g. https://zwfw.example.gov.cn/api/v1")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise _Invalid("contains spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise _Invalid("not a valid URL (bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _Invalid("must start with https:// (or http:// to this machine only)")
    if parts.username is not None or parts.password is not None:
        masked = text.replace(parts.netloc, "***@" + parts.netloc.rpartition("@")[2], 1)
        raise _Invalid("must not contain a user name or password; use key_file", masked)
    if not host:
        raise _Invalid("has no host name")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise _Invalid('is a base URL: no "?query" or "#fragment"')
    if scheme == "http" and not is_loopback(host):
        raise _Invalid(
            "plain http is only allowed to this machine (127.0.0.0/8, ::1, localhost); "
            "use https:// for other hosts"
        )
    return text.rstrip("/")


MAX_CA_FILE_BYTES = 10 << 20
"""A CA bundle is a few hundred kilobytes at most (Mozilla's whole list is 0.3 MB)."""


def _ca_file(text: str, ctx: _Context) -> Path | None:
    """A PEM file of trusted certificate authorities, checked now rather than at the first
    request: a typo here would otherwise show as "offline" at the counter, not at start-up.

    It is loaded with the same OpenSSL the requests use, so a file that passes here is one
    the transport can use. Empty means the default bundle.
    """
    if not text:
        return None
    path = _path(text, ctx)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_CA_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _Invalid("no such file") from None
    except IsADirectoryError:
        raise _Invalid("is a directory; expected a PEM file of CA certificates") from None
    except PermissionError:
        raise _Invalid("permission denied: the kiosk's user cannot read it") from None
    except OSError as error:
        raise _Invalid(f"cannot read: {error.strerror or 'I/O error'}") from None
    if len(data) > MAX_CA_FILE_BYTES:
        raise _Invalid(f"over {MAX_CA_FILE_BYTES >> 20} MB; not a CA bundle")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise _Invalid("not a PEM bundle: no -----BEGIN CERTIFICATE----- block "
                       "(convert a DER .cer/.crt with: openssl x509 -inform der -in F -out F.pem)")
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=data.decode("ascii", "replace"))
    except (ssl.SSLError, ValueError):
        raise _Invalid("a certificate in it cannot be read (damaged or not PEM)") from None
    if context.cert_store_stats()["x509_ca"] == 0:
        raise _Invalid("holds no CA certificate (only end-entity certificates)")
    return path


def _proxy_url(text: str, ctx: _Context) -> str:
    """An http(s) proxy for the platform's https traffic; empty means direct.

    Through an http:// proxy the kiosk tunnels TLS (CONNECT), so the proxy sees the
    platform's host name, never a request. No credentials: the URL is shown by
    ``kiosk config show`` and may reach logs.
    """
    if not text:
        return ""
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise _Invalid("contains spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise _Invalid("not a valid URL (bad host or port)") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Invalid("must be http://HOST:PORT or https://HOST:PORT (no socks)")
    if parts.username is not None or parts.password is not None:
        masked = text.replace(parts.netloc, "***@" + parts.netloc.rpartition("@")[2], 1)
        raise _Invalid("must not contain a user name or password", masked)
    if not host:
        raise _Invalid("has no host name")
    if port is None:
        raise _Invalid("needs a port, e.g. http://proxy.hall.example:3128")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _Invalid("is HOST:PORT only: no path, ?query or #fragment")
    return text.rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _device(device: str, allowed: tuple[str, ...]) -> _Parser:
    """A device URL whose scheme makes sense for ``device`` (no camera on tcp://)."""
    names = [("a camera index such as 0" if s == INDEX else s) for s in allowed]
    listed = ", ".join(names[:-1]) + " or " + names[-1]

    def parse(text: str, ctx: _Context) -> DeviceURL:
        try:
            url = parse_device_url(text)
        except DeviceURLError as error:
            raise _Invalid(error.reason) from None
        if url.scheme not in allowed:
            kind = "a camera index" if url.scheme == INDEX else f"{url.scheme}://"
            raise _Invalid(f"{kind} is not used for the {device} (allowed: {listed})")
        return url

    return parse


def _hook_command(text: str, ctx: _Context) -> str:
    """A command line run without a shell; empty turns the hook off."""
    if not text:
        return ""
    if not text.isprintable():
        raise _Invalid("contains control or invisible characters")
    try:
        argv = shlex.split(text)
    except ValueError as error:
        raise _Invalid(f"cannot be split into words: {error}") from None
    if not argv:
        return ""
    return text


def _hook_url(text: str, ctx: _Context) -> str:
    """An http(s) URL on the hall network; empty turns the hook off.

    Plain http is allowed here, unlike for the platform, because the call carries no
    personal data: the kiosk id, the hall name and the time.
    """
    if not text:
        return ""
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise _Invalid("contains spaces or control characters")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Invalid("must be http://HOST/... or https://HOST/...")
    if parts.username or parts.password:
        raise _Invalid("no user name or password in the URL")
    return text


def _guide_link(text: str, ctx: _Context) -> str:
    """The web page of a matter's guide for citizens' phones: http(s), with ``{item_code}``
    where the matter's code goes; empty means no QR code on the guide."""
    if not text:
        return ""
    if "{item_code}" not in text or text.replace("{item_code}", "").count("{") or \
            text.replace("{item_code}", "").count("}"):
        raise _Invalid("must hold {item_code} where the matter's code goes, and no other "
                       "braces, e.g. https://www.example.org/guide?item={item_code}")
    return _hook_url(text.replace("{item_code}", "ITEM"), ctx) and text


def _site_profile(text: str, ctx: _Context) -> Path | None:
    """The site profile file; it must exist now (a wrong path is found at start-up), its
    contents are checked when it is applied (kiosk.finding.site_profile): a bad one is
    logged and the previous profile kept. Empty: no profile, every matter offered."""
    if not text:
        return None
    path = _path(text, ctx)
    if not path.is_file():
        raise _Invalid("no such file" if not path.exists() else "not a file")
    return path


_repeat_seconds = _zero_or(10, 600, "seconds", "chime once")


def _metrics_port(text: str, ctx: _Context) -> int:
    """0 (no metrics page) or a TCP port a non-root service may listen on."""
    if not _INT_RE.fullmatch(text):
        raise _Invalid("not a port number: 0 (off) or 1024..65535")
    value = int(text) if len(text) <= 18 else -1
    if value != 0 and not 1024 <= value <= 65535:
        raise _Invalid("must be 0 (off) or a port 1024..65535 (lower ports need root)")
    return value


# --------------------------------------------------------------------------------- schema


@dataclass(frozen=True, slots=True)
class _Key:
    """One key: its parser and the one-line comment written above it in the default file.

    ``env_default`` is the text shown (commented out) for keys whose default depends on the
    environment; writing a fixed value there would pin the data directory on every machine.
    """

    name: str
    parse: _Parser
    comment: str
    env_default: str | None = None


_SECTION_COMMENTS: dict[str, str] = {
    "kiosk": "This kiosk and how it treats the citizen in front of it.",
    "storage": "Where the kiosk keeps its data (database, offline catalogue, keys).",
    "platform": "The government service platform (政务服务平台) this kiosk talks to.",
    "outbox": "Queued applications: how long sent ones are kept, when new ones are refused.",
    "devices": "Peripherals as device URLs; change one URL to swap an emulator for hardware.",
    "display": "Screen and window; kiosk lockdown is on unless developer = true.",
    "speech": "Spoken prompts (text to speech with espeak-ng, when it is installed).",
    "staff_call": "What Call staff does besides the chime: a command or an HTTP call.",
    "metrics": "Prometheus metrics page on 127.0.0.1 for the fleet's monitoring.",
    "logging": "The kiosk's log (JSON lines, personal data masked): data_dir/logs/kiosk.log.",
}

_SCHEMA: dict[str, tuple[_Key, ...]] = {
    "kiosk": (
        _Key(
            "id",
            _kiosk_id,
            "Kiosk ID on receipts, logs and platform requests: 1-32 letters, digits, hyphens.",
        ),
        _Key(
            "language",
            _choice("zh_CN", "en"),
            "Language of the attract screen: zh_CN (简体中文) or en.",
        ),
        _Key(
            "orientation",
            _choice("portrait", "landscape"),
            "Screen orientation: portrait (usual 1080x1920 kiosk) or landscape.",
        ),
        _Key(
            "idle_timeout",
            _integer(15, 3600, "seconds"),
            'Seconds without a touch before the "still there?" warning (15..3600).',
        ),
        _Key(
            "idle_warning",
            _integer(20, 600, "seconds", " (WCAG 2.2.1 asks for at least 20 s to respond)"),
            "Seconds the warning counts down before the session ends (20..600, WCAG 2.2.1).",
        ),
        _Key(
            "large_font_scale",
            _decimal(1.1, 2.0),
            "Text size factor when the citizen chooses large text (大字版) (1.1..2.0).",
        ),
        _Key("hall", _hall, "Service hall name shown on the attract screen."),
        _Key(
            "guide_link",
            _guide_link,
            "Web page of a matter's guide for phones, with {item_code}; empty: no QR on guides.",
        ),
        _Key(
            "site_profile",
            _site_profile,
            "Site profile (bank, post office...): offered matters, hours; empty: everything.",
        ),
    ),
    "storage": (
        _Key(
            "data_dir",
            _path,
            "Data directory; default $XDG_DATA_HOME/gov-kiosk, else ~/.local/share/gov-kiosk.",
            env_default="~/.local/share/gov-kiosk",
        ),
        _Key(
            "master_key_file",
            _path,
            "Key sealing queued applications (never printed); default data_dir/master.key.",
            env_default="~/.local/share/gov-kiosk/master.key",
        ),
    ),
    "platform": (
        _Key(
            "url",
            _platform_url,
            "Platform API base URL; https:// required except to this machine (http://127.0.0.1).",
        ),
        _Key(
            "key_file",
            _path,
            "File holding the platform access key (never printed); default data_dir/platform.key.",
            env_default="~/.local/share/gov-kiosk/platform.key",
        ),
        _Key(
            "timeout",
            _decimal(1, 120, "seconds"),
            "Seconds to wait for one platform request before giving up (1..120).",
        ),
        _Key(
            "health_interval",
            _integer(5, 600, "seconds"),
            "Seconds between online checks; offline, the cached catalogue is served (5..600).",
        ),
        _Key(
            "sync_interval",
            _integer(2, 3600, "seconds"),
            "Seconds between passes that send queued applications while online (2..3600).",
        ),
        _Key(
            "ca_file",
            _ca_file,
            "PEM file of the CAs trusted for the platform (replaces the default list); empty ="
            " default.",
        ),
        _Key(
            "proxy",
            _proxy_url,
            "Proxy for https requests, http://HOST:PORT; empty = direct (env vars are ignored).",
        ),
    ),
    "outbox": (
        _Key(
            "retention_days",
            _integer(1, 3650, "days"),
            "Days a sent application is kept after the platform acknowledged it (1..3650).",
        ),
        _Key(
            "min_free_mb",
            _integer(10, 100000, "MB"),
            "Refuse new applications when free disk space in data_dir is below this (10..100000).",
        ),
        _Key(
            "max_pending",
            _integer(1, 100000, "applications"),
            "Refuse new applications when this many are waiting to be sent (1..100000).",
        ),
        _Key(
            "max_pending_age_days",
            _integer(1, 365, "days"),
            "Refuse new applications when the oldest unsent one is older than this (1..365).",
        ),
    ),
    "devices": (
        _Key(
            "idcard",
            _device("ID card reader", ("emulator", "serial")),
            "ID card reader (二代身份证阅读器): emulator://idcard, serial:///dev/ttyUSB0.",
        ),
        _Key(
            "printer",
            _device("printer", ("emulator", "serial", "usb", "tcp", "file")),
            "Receipt printer (ESC/POS): emulator://printer, usb://0x0416:0x5011, tcp://HOST:9100.",
        ),
        _Key(
            "camera",
            _device("camera", ("emulator", "v4l2", "file", INDEX)),
            "Camera for photos and documents: emulator://camera, 0, v4l2:///dev/video0.",
        ),
        _Key(
            "paper_roll_slips",
            _integer(20, 10000, "slips"),
            "Receipts one paper roll holds; paper is reported low at 80 % of it (20..10000).",
        ),
    ),
    "display": (
        _Key(
            "developer",
            _boolean,
            "true turns kiosk lockdown off: windowed, cursor shown, Esc and window close work.",
        ),
        _Key("fullscreen", _boolean, "Borderless full screen (always off when developer = true)."),
        _Key(
            "width",
            _window_dimension,
            "Window width when not full screen; 0 = from orientation (1080 portrait).",
        ),
        _Key(
            "height",
            _window_dimension,
            "Window height when not full screen; 0 = from orientation (1920 portrait).",
        ),
        _Key(
            "rotation",
            _rotation,
            "Rotate the picture for a panel mounted sideways: 0, 90, 180 or 270 degrees.",
        ),
        _Key(
            "maxfps",
            _integer(10, 120, "frames per second"),
            "Frame rate cap; 30 is smooth for touch and keeps a fanless PC cool (10..120).",
        ),
    ),
    "speech": (
        _Key(
            "enabled",
            _boolean,
            "Speak prompts and offer Read aloud (silent when no TTS engine is installed).",
        ),
        _Key(
            "headset",
            _boolean,
            "true only if a privacy headset is fitted: then names and ID numbers may be spoken.",
        ),
        _Key(
            "rate",
            _integer(80, 300, "words per minute"),
            "Speaking speed (80..300 words per minute).",
        ),
    ),
    "staff_call": (
        _Key(
            "command",
            _hook_command,
            "Command run (no shell) when staff are called; empty = none.",
        ),
        _Key("url", _hook_url, "URL that gets an HTTP POST when staff are called; empty = none."),
        _Key("timeout", _decimal(1, 60, "seconds"), "Seconds the command or URL may take (1..60)."),
        _Key(
            "repeat_chime",
            _repeat_seconds,
            "Seconds between chimes while the citizen waits for staff; 0 = once (10..600).",
        ),
    ),
    "metrics": (
        _Key(
            "port",
            _metrics_port,
            "Port of the Prometheus metrics page on 127.0.0.1; 0 = no page (1024..65535).",
        ),
    ),
    "logging": (
        _Key(
            "level",
            _choice("debug", "info", "warning", "error"),
            "Least severe records written: debug, info, warning or error.",
        ),
        _Key(
            "max_bytes",
            _integer(65536, 1 << 30, "bytes"),
            "Size at which the log file is rotated (65536..1073741824 bytes).",
        ),
        _Key(
            "backups",
            _integer(1, 100, "files"),
            "Rotated files kept beside the current one; older ones are deleted (1..100).",
        ),
    ),
}

# ---------------------------------------------------------------------------------- loading


def choose_config_path(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """The file to load: ``path`` if given, else ``$KIOSK_CONFIG`` if set and non-empty."""
    if path is not None:
        return os.fsdecode(path)
    return environ.get(ENV_VAR) or None


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ
) -> KioskConfig:
    """Load and check the configuration: ``path`` > ``$KIOSK_CONFIG`` > built-in defaults.

    ``environ`` is a parameter so that tests (and ``kiosk config check``) need not touch the
    process environment. Raises :class:`ConfigError` for every problem, never anything else.
    """
    name = choose_config_path(path, environ)
    if name is None:
        return _build({}, _Context(Path(os.curdir), environ), None)
    if not name:
        raise ConfigError("the configuration file name is empty")
    text = _read_text(name, from_env=path is None)
    parser = _parse(text, name)
    where = _locate(text)
    raw = _check_names(parser, name, where)
    source = Path(os.path.abspath(name))
    ctx = _Context(source.parent, environ)
    values: dict[str, dict[str, Any]] = {}
    for section, keys in _SCHEMA.items():
        values[section] = {}
        for key in keys:
            if (section, key.name) not in raw:
                continue
            text_value = raw[section, key.name]
            try:
                values[section][key.name] = key.parse(text_value, ctx)
            except _Invalid as problem:
                shown = text_value if problem.shown is None else problem.shown
                at = _at(name, where.get((section, key.name)))
                raise ConfigError(
                    f"{at}: [{section}] {key.name} = {_quote(shown)}: {problem.reason}"
                ) from None
    return _build(values, ctx, source)


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home if os.path.isabs(home) else "/")


def _build(values: dict[str, dict[str, Any]], ctx: _Context, source: Path | None) -> KioskConfig:
    """Fill in defaults; the key files follow ``data_dir`` unless set on their own."""
    given = values.get("storage", {})
    data_dir = given.get("data_dir", default_data_dir(ctx.environ))
    storage_values = {"data_dir": data_dir, "master_key_file": data_dir / "master.key", **given}
    storage = StorageSection(**storage_values)
    platform_values = {"key_file": storage.data_dir / "platform.key", **values.get("platform", {})}
    return KioskConfig(
        kiosk=KioskSection(**values.get("kiosk", {})),
        storage=storage,
        platform=PlatformSection(**platform_values),
        outbox=OutboxSection(**values.get("outbox", {})),
        devices=DevicesSection(**values.get("devices", {})),
        display=DisplaySection(**values.get("display", {})),
        speech=SpeechSection(**values.get("speech", {})),
        staff_call=StaffCallSection(**values.get("staff_call", {})),
        metrics=MetricsSection(**values.get("metrics", {})),
        logging=LoggingSection(**values.get("logging", {})),
        source=source,
    )


def _read_text(name: str, *, from_env: bool) -> str:
    """Read ``name`` as UTF-8 (a BOM from Windows Notepad is fine) with ``\\n`` line ends."""
    try:
        with open(name, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        origin = f" (from ${ENV_VAR})" if from_env else ""
        raise ConfigError(f"{name}{origin}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a directory, not a configuration file") from None
    except PermissionError:
        raise ConfigError(f"{name}: permission denied") from None
    except OSError as error:
        raise ConfigError(f"{name}: cannot read: {error.strerror or 'I/O error'}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{name}: over {MAX_FILE_BYTES} bytes; not a configuration file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
            "save the file as UTF-8, not GBK or GB18030"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse(text: str, name: str) -> configparser.ConfigParser:
    """Run configparser; its exceptions become one-line :class:`ConfigError` messages.

    ``default_section`` is a name no header can spell, so ``[DEFAULT]`` is just an unknown
    section instead of silently adding its keys to every section.
    """
    parser = configparser.ConfigParser(interpolation=None, default_section="\n")
    lines = text.split("\n")

    def line_text(lineno: int | None) -> str:
        return lines[lineno - 1] if lineno and 0 < lineno <= len(lines) else ""

    try:
        parser.read_string(text, source=name)
    except configparser.MissingSectionHeaderError as error:
        raise ConfigError(
            f"{_at(name, error.lineno)}: {_quote(line_text(error.lineno).strip())} comes before "
            "any [section]; start the file with a header such as [kiosk]"
        ) from None
    except configparser.DuplicateSectionError as error:
        raise ConfigError(
            f"{_at(name, error.lineno)}: section [{_clean(error.section)}] appears twice"
        ) from None
    except configparser.DuplicateOptionError as error:
        raise ConfigError(
            f"{_at(name, error.lineno)}: [{_clean(error.section)}] key "
            f'"{_clean(error.option)}" appears twice'
        ) from None
    except configparser.ParsingError as error:
        lineno = error.errors[0][0] if error.errors else None
        raise ConfigError(
            f"{_at(name, lineno)}: cannot read {_quote(line_text(lineno).strip())}: "
            "expected KEY = VALUE, [SECTION] or a # comment"
        ) from None
    except configparser.Error as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"{name}: {_clean(first)}") from None
    return parser


def _check_names(
    parser: configparser.ConfigParser, name: str, where: Mapping[tuple[str, str | None], int]
) -> dict[tuple[str, str], str]:
    """Reject unknown sections and keys (with a suggestion); return the raw values."""
    raw: dict[tuple[str, str], str] = {}
    for section in parser.sections():
        at = _at(name, where.get((section, None)))
        if section not in _SCHEMA:
            raise ConfigError(
                f"{at}: unknown section [{_clean(section)}]"
                + _suggest(section, list(_SCHEMA), "[{}]", "sections")
            )
        known = [key.name for key in _SCHEMA[section]]
        for key, value in parser.items(section):
            if key in known:
                raw[section, key] = value
                continue
            at = _at(name, where.get((section, key)))
            home = [other for other, keys in _SCHEMA.items() if key in {k.name for k in keys}]
            hint = (
                f'; "{key}" belongs in [{home[0]}]'
                if home
                else _suggest(key, known, '"{}"', f"keys of [{section}]")
            )
            raise ConfigError(f'{at}: [{section}] unknown key "{_clean(key)}"{hint}')
    return raw


def _suggest(word: str, known: list[str], form: str, what: str) -> str:
    """``did you mean`` for a near miss (difflib), else the list of what is allowed."""
    close = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.6)
    if close:
        return "; did you mean " + form.format(close[0]) + "?"
    return f" ({what}: {', '.join(known)})"


_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")  # configparser's SECTCRE
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*[=:]")  # the key part of its OPTCRE


def _locate(text: str) -> dict[tuple[str, str | None], int]:
    """Line numbers of section headers ``(section, None)`` and keys ``(section, key)``.

    configparser does not keep line numbers, so this follows its reading rules (comments,
    continuation lines indented deeper than their key) closely enough to point at a line.
    """
    where: dict[tuple[str, str | None], int] = {}
    section: str | None = None
    in_value = False
    indent_level = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        indent = len(line) - len(line.lstrip())
        if in_value and indent > indent_level:
            continue
        indent_level = indent
        header = _SECTION_RE.match(stripped)
        if header:
            section = header.group("header")
            where.setdefault((section, None), lineno)
            in_value = False
        elif section is not None:
            option = _OPTION_RE.match(stripped)
            if option:
                where.setdefault((section, option.group("option").rstrip().lower()), lineno)
                in_value = True
    return where


def _at(name: str, lineno: int | None) -> str:
    return f"{name}:{lineno}" if lineno else name


def _clean(text: str) -> str:
    """Escape anything that could break the one-line message (newlines, controls)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _quote(value: str, limit: int = 80) -> str:
    """The value as it was written, in double quotes, cut short if very long."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return '"' + _clean(value.replace("\\", "\\\\").replace('"', '\\"')) + '"'


# ---------------------------------------------------------------------------------- writing


def _format(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _format_float(value)
    return str(value)


_HEADER = """\
# Configuration of the gov-kiosk self-service kiosk (INI, UTF-8).
# Every key is shown at its built-in default; delete a key to go back to the default.
# Chosen by: kiosk --config PATH, else $KIOSK_CONFIG, else built-in defaults.
# After editing, run: kiosk --config PATH config check
# Values are plain text: no quotes, no %(interpolation)s, comments on their own line.
# Relative paths are relative to the directory of this file. Reference: docs/configuration.md
"""


def default_config_text() -> str:
    """A complete, commented INI with every key at its default (``kiosk config init``).

    Keys whose default depends on the machine (the data directory) are written commented
    out, so that the file keeps following ``$XDG_DATA_HOME`` until someone sets them.
    """
    defaults = KioskConfig(
        storage=StorageSection(data_dir=Path("unused"), master_key_file=Path("unused")),
        platform=PlatformSection(key_file=Path("unused")),
    )
    out = [_HEADER]
    for section, keys in _SCHEMA.items():
        out.append(f"\n# {_SECTION_COMMENTS[section]}\n[{section}]\n")
        for key in keys:
            out.append(f"# {key.comment}\n")
            if key.env_default is not None:
                out.append(f"# {key.name} = {key.env_default}\n")
            else:
                value = getattr(getattr(defaults, section), key.name)
                out.append(f"{key.name} = {_format(value)}\n")
    return "".join(out)


def write_default_config(path: str | os.PathLike[str], *, force: bool = False) -> None:
    """Write :func:`default_config_text` to ``path``.

    Raises :class:`FileExistsError` if the file exists and ``force`` is false: a technician's
    edited configuration is worth more than a fresh template.
    """
    with open(path, "w" if force else "x", encoding="utf-8", newline="\n") as stream:
        stream.write(default_config_text())


def config_to_ini(config: KioskConfig) -> str:
    """The effective configuration as INI (``kiosk config show``); loads back to ``config``.

    Paths are written as the absolute paths they resolved to. The key files appear by path
    only: their contents are never read here.
    """
    origin = str(config.source) if config.source else "built-in defaults (no file)"
    out = [f"# Effective kiosk configuration from {_clean(origin)}\n"]
    for section, keys in _SCHEMA.items():
        out.append(f"\n[{section}]\n")
        values = getattr(config, section)
        for key in keys:
            out.append(f"{key.name} = {_format(getattr(values, key.name))}\n")
        if section == "storage":
            out.append(f"# database = {config.storage.database} (derived from data_dir)\n")
            out.append(
                f"# attachments_dir = {config.storage.attachments_dir} (derived from data_dir)\n"
            )
    return "".join(out)

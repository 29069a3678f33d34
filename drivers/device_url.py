"""Device URLs: one string per peripheral says which driver to use and where the device is.

A technician switches a kiosk from the emulated ID-card reader to the real one by changing
``emulator://idcard`` to ``serial:///dev/ttyUSB0?baudrate=115200`` in the configuration;
nothing else changes. This module only parses and validates those strings, so that a typo
is reported when the configuration is loaded rather than when a citizen taps "read ID card".
Building drivers from a :class:`DeviceURL` is the drivers' business, not this module's.

Accepted forms::

    emulator://NAME[?k=v&...]            built-in emulator (the default for every device)
    serial:///dev/ttyUSB0[?baudrate=N]   serial port (absolute path, note the three slashes)
    ...?codec=gbk                        a printer's text code set: gb18030 (default) or gbk
    usb://0x0416:0x5011                  USB vendor:product ids in hex (``0x`` optional)
    tcp://HOST:PORT                      network device, e.g. an ESC/POS printer on port 9100
    file:///path                         a file, e.g. a printer spool or a recorded image
    v4l2:///dev/video0                   Video4Linux camera by device path
    0                                    bare camera index, as OpenCV numbers cameras
    /dev/ttyUSB0[?baudrate=N]            bare absolute path: a serial port, as pyserial
                                         takes it (so serial:///dev/ttyUSB0)
    /dev/video0                          bare Video4Linux node: v4l2:///dev/video0
    COM3                                 a Windows serial port (also serial://COM3)

A bare path is taken literally (no %-escapes): it is what ``ls /dev/serial/by-id`` printed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

__all__ = ["INDEX", "SCHEMES", "DeviceURL", "DeviceURLError", "parse_device_url"]

#: URL schemes understood by :func:`parse_device_url`, in the order error messages list them.
SCHEMES: tuple[str, ...] = ("emulator", "serial", "usb", "tcp", "file", "v4l2")
#: Pseudo-scheme of a bare camera index such as ``0`` (written without ``://``).
INDEX = "index"

_PATH_SCHEMES = frozenset({"serial", "file", "v4l2"})
_PATH_EXAMPLES = {
    "serial": "serial:///dev/ttyUSB0",
    "file": "file:///var/spool/kiosk/receipt.bin",
    "v4l2": "v4l2:///dev/video0",
}
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*", re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
_PARAM_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
_USB_RE = re.compile(r"(?:0[xX])?([0-9A-Fa-f]{1,4}):(?:0[xX])?([0-9A-Fa-f]{1,4})", re.ASCII)
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_DIGITS_RE = re.compile(r"[0-9]+", re.ASCII)
#: A Windows serial port name as pyserial takes it (COM1..COM256).
_COM_RE = re.compile(r"COM[1-9][0-9]{0,2}", re.ASCII | re.IGNORECASE)
#: A Video4Linux node: the one kind of bare path that is never a serial port.
_V4L2_NODE_RE = re.compile(r"/dev/video[0-9]{1,3}", re.ASCII)
_MAX_INDEX = 255
_MAX_BAUDRATE = 100_000_000
#: The receipt printer's text code sets (``?codec=``), as drivers.printer.layout.CODECS.
_CODECS = ("gb18030", "gbk")


class DeviceURLError(ValueError):
    """A device URL that cannot be used; ``reason`` says why without repeating the URL.

    ``str(error)`` names the URL too, for callers that show the message on its own; the
    configuration loader uses ``reason`` because it already shows the value next to its key.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"device URL {_quote(url)}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class DeviceURL:
    """A parsed device URL in canonical form.

    ``target`` depends on the scheme: the emulator name, the absolute device or file path
    (percent-decoded), ``0xVVVV:0xPPPP`` for USB, ``HOST:PORT`` for TCP, or the decimal
    camera index for :data:`INDEX`. ``str()`` gives back a URL that parses to an equal value.
    """

    scheme: str
    target: str
    params: dict[str, str] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        if self.scheme == INDEX:
            return self.target
        if self.scheme in _PATH_SCHEMES:
            # serial://COM3 keeps the Windows port name where a path would be
            text = f"{self.scheme}://{quote(self.target, safe='/')}"
        else:
            text = f"{self.scheme}://{self.target}"
        if self.params:
            query = "&".join(f"{k}={quote(v, safe='/:,')}" for k, v in self.params.items())
            text = f"{text}?{query}"
        return text


def parse_device_url(url: str) -> DeviceURL:
    """Parse and validate ``url``; raise :class:`DeviceURLError` saying what is wrong.

    Surrounding whitespace is ignored (it is invisible in an INI file); anything else that
    does not fit one of the accepted forms is an error rather than a guess, because a
    wrongly guessed device only shows up later, in front of a citizen.
    """
    text = url.strip()
    if not text:
        raise DeviceURLError(url, "empty; expected e.g. emulator://printer")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise DeviceURLError(url, "contains spaces or control characters")
    if _DIGITS_RE.fullmatch(text):
        return _parse_index(url, text)
    if text.startswith("/") or _COM_RE.fullmatch(text.partition("?")[0]):
        return _parse_bare_path(url, text)
    scheme, sep, rest = text.partition("://")
    if not sep or not _SCHEME_RE.fullmatch(scheme):
        raise DeviceURLError(url, _not_a_url_reason(text))
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise DeviceURLError(
            url,
            f"unknown scheme {_quote(scheme)} (allowed: {', '.join(SCHEMES)}; "
            "or a camera index such as 0)",
        )
    if "#" in rest:
        raise DeviceURLError(url, 'a device URL has no "#" part')
    location, _, query = rest.partition("?")
    authority, slash, path = location.partition("/")
    path = slash + path
    params = _parse_params(url, query)
    if scheme == "emulator":
        target = _parse_emulator(url, authority, path)
    elif scheme == "serial" and _COM_RE.fullmatch(authority) and not path:
        target = authority.upper()  # serial://COM3: a Windows port has no absolute path
    elif scheme in _PATH_SCHEMES:
        target = _parse_path(url, scheme, authority, path)
    elif scheme == "usb":
        target = _parse_usb(url, authority, path)
    else:
        target = _parse_tcp(url, authority, path)
    return DeviceURL(scheme, target, params)


def _quote(text: str, limit: int = 80) -> str:
    """Double-quote ``text`` for a one-line message: escaped, and cut short if very long."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text) + '"'


def _not_a_url_reason(text: str) -> str:
    """Why ``text`` is no device URL, with the nearest accepted form when one is obvious."""
    usage = ("expected SCHEME://TARGET (e.g. emulator://printer, serial:///dev/ttyUSB0), "
             "an absolute serial port path such as /dev/ttyUSB0, or a camera index such as 0")
    if re.fullmatch(r"(?:dev/)?(?:tty|video)[A-Za-z0-9_.-]*", text, re.ASCII):
        name = text.removeprefix("dev/")
        return f"not a device URL: a device path must be absolute, e.g. /dev/{name}"
    scheme, colon, _rest = text.partition(":")
    if colon and scheme.lower() in SCHEMES:
        example = {**_PATH_EXAMPLES, "emulator": "emulator://printer",
                   "usb": "usb://0x0416:0x5011", "tcp": "tcp://192.168.1.50:9100"}
        return (f"not a device URL: SCHEME://TARGET needs // after {scheme}:, "
                f"e.g. {example[scheme.lower()]}")
    return "not a device URL: " + usage


def _parse_bare_path(url: str, text: str) -> DeviceURL:
    """A path written as pyserial takes it: ``/dev/ttyUSB0``, ``/dev/serial/by-id/...``,
    ``COM3``; an optional ``?baudrate=N`` as in a URL.

    Taken as ``serial://`` because that is what such a string means to anyone who has used
    pyserial, except ``/dev/videoN``, which is a camera node and never a serial port (an
    OpenCV user writes it the same way). The path is used as written: no %-decoding.
    """
    location, _, query = text.partition("?")
    params = _parse_params(url, query)
    if _COM_RE.fullmatch(location):
        return DeviceURL("serial", location.upper(), params)
    if not location.strip("/"):
        raise DeviceURLError(url, "a bare path must name a device, e.g. /dev/ttyUSB0")
    if "#" in location:
        raise DeviceURLError(url, 'a device path has no "#" part')
    scheme = "v4l2" if _V4L2_NODE_RE.fullmatch(location) else "serial"
    return DeviceURL(scheme, location, params)


def _parse_index(url: str, text: str) -> DeviceURL:
    if len(text) > 3 or int(text) > _MAX_INDEX:
        raise DeviceURLError(url, f"camera index must be 0..{_MAX_INDEX}")
    return DeviceURL(INDEX, str(int(text)), {})


def _parse_params(url: str, query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    if not query:
        return params
    for piece in query.split("&"):
        key, eq, raw = piece.partition("=")
        if not eq or not _PARAM_RE.fullmatch(key):
            raise DeviceURLError(
                url, f"parameter {_quote(piece)} is not NAME=VALUE (e.g. baudrate=115200)"
            )
        if key in params:
            raise DeviceURLError(url, f"parameter {_quote(key)} given twice")
        try:
            value = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise DeviceURLError(url, f"parameter {key}: bad %-escape") from None
        if not value.isprintable():
            raise DeviceURLError(url, f"parameter {key}: contains control characters")
        params[key] = value
    baudrate = params.get("baudrate")
    if baudrate is not None and not (
        _DIGITS_RE.fullmatch(baudrate) and len(baudrate) <= 9 and 0 < int(baudrate) <= _MAX_BAUDRATE
    ):
        raise DeviceURLError(
            url, f"baudrate {_quote(baudrate)} is not a positive whole number (e.g. 115200)"
        )
    codec = params.get("codec")
    if codec is not None and codec not in _CODECS:
        raise DeviceURLError(
            url, f"codec {_quote(codec)} is not a printer code set (allowed: {', '.join(_CODECS)})"
        )
    return params


def _parse_emulator(url: str, authority: str, path: str) -> str:
    if not authority:
        raise DeviceURLError(url, "emulator URL needs a name, e.g. emulator://printer")
    if path or not _NAME_RE.fullmatch(authority):
        raise DeviceURLError(
            url,
            "emulator name must be letters, digits, '.', '_' or '-' (up to 64), "
            "e.g. emulator://printer",
        )
    return authority


def _parse_path(url: str, scheme: str, authority: str, path: str) -> str:
    example = _PATH_EXAMPLES[scheme]
    if authority or not path.strip("/"):
        raise DeviceURLError(
            url,
            f"{scheme} URL needs an absolute path after {scheme}:// "
            f"(three slashes in all), e.g. {example}",
        )
    try:
        target = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise DeviceURLError(url, "bad %-escape in the path") from None
    if not target.isprintable():
        raise DeviceURLError(url, "path contains control characters")
    return target


def _parse_usb(url: str, authority: str, path: str) -> str:
    match = _USB_RE.fullmatch(authority)
    if path or match is None:
        raise DeviceURLError(
            url,
            "USB ids must be hex VENDOR:PRODUCT of up to 4 digits each, "
            "e.g. usb://0x0416:0x5011 (see lsusb)",
        )
    vendor, product = (int(group, 16) for group in match.groups())
    return f"0x{vendor:04x}:0x{product:04x}"


def _parse_tcp(url: str, authority: str, path: str) -> str:
    usage = "tcp URL needs HOST:PORT, e.g. tcp://192.168.1.50:9100"
    if path.strip("/"):
        raise DeviceURLError(url, f"{usage}; no path allowed")
    if authority.startswith("["):
        host, bracket, port_text = authority[1:].partition("]")
        if not bracket or not port_text.startswith(":"):
            raise DeviceURLError(url, usage)
        port_text = port_text[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise DeviceURLError(url, f"{_quote(host)} is not an IPv6 address") from None
        host = f"[{host}]"
    else:
        host, colon, port_text = authority.rpartition(":")
        if not colon or not host:
            raise DeviceURLError(url, usage)
        if not _valid_host(host):
            raise DeviceURLError(url, f"{_quote(host)} is not a host name or IPv4 address")
    if not (
        _DIGITS_RE.fullmatch(port_text) and len(port_text) <= 5 and 0 < int(port_text) <= 65535
    ):
        raise DeviceURLError(url, f"port {_quote(port_text)} is not in 1..65535")
    return f"{host}:{int(port_text)}"


def _valid_host(host: str) -> bool:
    """Accept a DNS host name or a dotted IPv4 address (all-numeric names must be IPv4)."""
    labels = host.rstrip(".").split(".") if len(host) <= 253 else []
    if not labels or not all(_LABEL_RE.fullmatch(label) for label in labels):
        return False
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return True

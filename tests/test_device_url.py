"""Device URL parsing: the accepted forms, clear errors, and round trips."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.device_url import INDEX, SCHEMES, DeviceURL, DeviceURLError, parse_device_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("url", "scheme", "target", "params"),
    [
        ("emulator://idcard", "emulator", "idcard", {}),
        (
            "emulator://printer?paper=58mm&fail=jam",
            "emulator",
            "printer",
            {"paper": "58mm", "fail": "jam"},
        ),
        ("serial:///dev/ttyUSB0?baudrate=115200", "serial", "/dev/ttyUSB0", {"baudrate": "115200"}),
        (
            "serial:///dev/serial/by-id/usb-1a86_USB-if00",
            "serial",
            "/dev/serial/by-id/usb-1a86_USB-if00",
            {},
        ),
        ("usb://0x0416:0x5011", "usb", "0x0416:0x5011", {}),
        ("usb://0416:5011", "usb", "0x0416:0x5011", {}),
        ("usb://0X4B8:0x0E15", "usb", "0x04b8:0x0e15", {}),
        ("tcp://192.168.1.50:9100", "tcp", "192.168.1.50:9100", {}),
        ("tcp://printer.hall.local:9100", "tcp", "printer.hall.local:9100", {}),
        ("tcp://[fe80::1]:9100", "tcp", "[fe80::1]:9100", {}),
        ("file:///var/spool/kiosk/receipt.bin", "file", "/var/spool/kiosk/receipt.bin", {}),
        ("file:///srv/%E5%9B%BE/a%20b.png", "file", "/srv/图/a b.png", {}),
        ("v4l2:///dev/video0", "v4l2", "/dev/video0", {}),
        ("0", INDEX, "0", {}),
        ("02", INDEX, "2", {}),
        ("  emulator://camera  ", "emulator", "camera", {}),
        ("EMULATOR://camera", "emulator", "camera", {}),
        # bare paths, as pyserial takes them: serial ports (a /dev/videoN node is a camera)
        ("/dev/ttyUSB0", "serial", "/dev/ttyUSB0", {}),
        ("/dev/ttyUSB0?baudrate=115200", "serial", "/dev/ttyUSB0", {"baudrate": "115200"}),
        (
            "/dev/serial/by-id/usb-1a86_USB2.0-Serial-if00-port0",
            "serial",
            "/dev/serial/by-id/usb-1a86_USB2.0-Serial-if00-port0",
            {},
        ),
        ("/tmp/kiosk%41", "serial", "/tmp/kiosk%41", {}),  # taken literally, not decoded
        ("COM3", "serial", "COM3", {}),
        ("com12?baudrate=9600", "serial", "COM12", {"baudrate": "9600"}),
        ("serial://COM3", "serial", "COM3", {}),
        ("/dev/video0", "v4l2", "/dev/video0", {}),
    ],
)
def test_accepted_forms(url: str, scheme: str, target: str, params: dict[str, str]) -> None:
    parsed = parse_device_url(url)
    assert (parsed.scheme, parsed.target, parsed.params) == (scheme, target, params)
    assert parse_device_url(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("bluetooth://reader", 'unknown scheme "bluetooth"'),
        ("http://printer", "allowed: emulator, serial, usb, tcp, file, v4l2"),
        ("", "empty"),
        ("   ", "empty"),
        ("serial:/dev/ttyUSB0", "SCHEME://TARGET"),
        ("serial:/dev/ttyUSB0", "e.g. serial:///dev/ttyUSB0"),
        ("ttyUSB0", "must be absolute, e.g. /dev/ttyUSB0"),
        ("dev/ttyS0", "must be absolute, e.g. /dev/ttyS0"),
        ("printer", "an absolute serial port path such as /dev/ttyUSB0"),
        ("COM0", "SCHEME://TARGET"),
        ("/", "must name a device"),
        ("///", "must name a device"),
        ("/dev/ttyUSB0#x", '"#"'),
        ("/dev/ttyUSB0?baudrate=fast", 'baudrate "fast"'),
        ("serial://", "needs an absolute path"),
        ("serial:///", "needs an absolute path"),
        ("serial://dev/ttyUSB0", "three slashes"),
        ("v4l2://video0", "v4l2:///dev/video0"),
        ("file://relative.bin", "absolute path"),
        ("serial:///dev/ttyUSB0?baudrate=fast", 'baudrate "fast"'),
        ("serial:///dev/ttyUSB0?baudrate=0", "positive whole number"),
        ("serial:///dev/ttyUSB0?baudrate=-9600", "positive whole number"),
        ("serial:///dev/ttyUSB0?baudrate", "NAME=VALUE"),
        ("usb://0xZZ:0x5011", "hex VENDOR:PRODUCT"),
        ("usb://0x12345:0x5011", "hex VENDOR:PRODUCT"),
        ("usb://0416", "hex VENDOR:PRODUCT"),
        ("usb://0x0416:0x5011/x", "hex VENDOR:PRODUCT"),
        ("tcp://printer:0", "1..65535"),
        ("tcp://printer:65536", "1..65535"),
        ("tcp://printer:http", "1..65535"),
        ("tcp://printer:99999999999999999999", "1..65535"),
        ("tcp://printer", "HOST:PORT"),
        ("tcp://:9100", "HOST:PORT"),
        ("tcp://999.1.1.1:9100", "not a host name"),
        ("tcp://bad_host:9100", "not a host name"),
        ("tcp://[::zz]:9100", "IPv6"),
        ("tcp://[::1]9100", "HOST:PORT"),
        ("tcp://printer:9100/path", "no path"),
        ("emulator://", "needs a name"),
        ("emulator://printer/extra", "emulator name"),
        ("emulator://printer#top", '"#"'),
        ("emulator://x?a=1&a=2", "given twice"),
        ("emulator://x?1a=1", "NAME=VALUE"),
        ("emulator://x?a=%FF", "%-escape"),
        ("emulator://x?a=%0A", "control"),
        ("emulator://my printer", "spaces"),
        ("256", "0..255"),
        ("99999", "0..255"),
        ("file:///tmp/%FF", "%-escape"),
        ("file:///tmp/%00", "control"),
    ],
)
def test_errors_say_what_is_wrong(url: str, fragment: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        parse_device_url(url)
    error = caught.value
    assert isinstance(error, ValueError)
    assert fragment in error.reason
    assert error.url == url
    assert len(str(error).splitlines()) == 1
    assert error.reason in str(error)


def test_str_is_canonical() -> None:
    assert str(parse_device_url("usb://416:5011")) == "usb://0x0416:0x5011"
    assert str(parse_device_url("Serial:///dev/ttyS0?baudrate=9600")) == (
        "serial:///dev/ttyS0?baudrate=9600"
    )
    assert str(parse_device_url("007")) == "7"
    assert str(DeviceURL("file", "/srv/a b")) == "file:///srv/a%20b"
    assert str(DeviceURL("emulator", "x", {"path": "/tmp/a&b"})) == "emulator://x?path=/tmp/a%26b"


def test_device_url_is_hashable_and_frozen() -> None:
    url = parse_device_url("emulator://printer?paper=80mm")
    assert hash(url) == hash(parse_device_url("emulator://printer?paper=80mm"))
    with pytest.raises(AttributeError):
        url.scheme = "usb"  # type: ignore[misc]


def test_drivers_module_pulls_in_no_kivy_sql_or_http() -> None:
    code = (
        "import sys, drivers.device_url; "
        "bad = {'kivy', 'sqlite3', 'requests', 'http', 'urllib3'} & set(sys.modules); "
        "print(sorted(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- properties

URLISH = st.text(
    alphabet=st.sampled_from(list("aeiouxyz0159:/?&=%#.-_[]@ ")) | st.characters(),
    max_size=40,
)


@given(st.one_of(st.text(), URLISH, st.sampled_from(SCHEMES).map(lambda s: s + "://") | URLISH))
def test_any_string_gives_url_or_device_url_error(text: str) -> None:
    try:
        parsed = parse_device_url(text)
    except DeviceURLError as error:
        assert len(str(error).splitlines()) == 1
    else:
        assert isinstance(parsed, DeviceURL)
        assert parse_device_url(str(parsed)) == parsed


@given(st.sampled_from(SCHEMES), URLISH)
def test_any_string_after_a_known_scheme(scheme: str, rest: str) -> None:
    try:
        parsed = parse_device_url(f"{scheme}://{rest}")
    except DeviceURLError:
        return
    assert parsed.scheme == scheme
    assert parse_device_url(str(parsed)) == parsed


SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
param_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k != "baudrate"
)
param_values = st.text(max_size=12).filter(str.isprintable)
params = st.dictionaries(param_keys, param_values, max_size=3)
safe_params = st.dictionaries(param_keys, st.text(alphabet=SAFE, max_size=8), max_size=3)
segments = st.lists(st.text(alphabet=SAFE, min_size=1, max_size=8), min_size=1, max_size=4)
labels = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hostnames = (
    st.lists(labels, min_size=1, max_size=3)
    .map(".".join)
    .filter(lambda h: not all(part.isdigit() for part in h.split(".")))
)
hosts = hostnames | st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(lambda a: f"[{a}]")
ports = st.integers(1, 65535)


@st.composite
def canonical_urls(draw: st.DrawFn) -> str:
    """URL strings already in canonical form: str(parse(url)) must give them back."""
    scheme = draw(st.sampled_from([*SCHEMES, INDEX]))
    if scheme == INDEX:
        return str(draw(st.integers(0, 255)))
    if scheme == "emulator":
        base = f"emulator://{draw(names)}"
    elif scheme == "usb":
        base = f"usb://0x{draw(st.integers(0, 0xFFFF)):04x}:0x{draw(st.integers(0, 0xFFFF)):04x}"
    elif scheme == "tcp":
        base = f"tcp://{draw(hosts)}:{draw(ports)}"
    else:
        base = f"{scheme}:///" + "/".join(draw(segments))
    query = dict(draw(safe_params))
    if scheme == "serial" and draw(st.booleans()):
        query["baudrate"] = str(draw(st.integers(1, 4_000_000)))
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


@given(canonical_urls())
def test_canonical_urls_round_trip_exactly(url: str) -> None:
    assert str(parse_device_url(url)) == url


@st.composite
def device_urls(draw: st.DrawFn) -> DeviceURL:
    """Arbitrary valid DeviceURL values, including paths and values that need %-escapes."""
    scheme = draw(st.sampled_from(["emulator", "serial", "file", "v4l2"]))
    if scheme == "emulator":
        target = draw(names)
    else:
        target = "/" + draw(st.text(min_size=1, max_size=20).filter(str.isprintable))
        if not target.strip("/"):
            target += "x"
    return DeviceURL(scheme, target, draw(params))


@given(device_urls())
def test_device_urls_round_trip_through_str(url: DeviceURL) -> None:
    assert parse_device_url(str(url)) == url


# bare paths: what pyserial users write is what they get, and it survives str()

bare_paths = st.lists(
    st.text(min_size=1, max_size=12).filter(
        lambda part: part.isprintable() and not any(c in part for c in "/?#")
        and not any(c.isspace() for c in part)),
    min_size=1, max_size=4,
).map(lambda parts: "/" + "/".join(parts))


@given(bare_paths)
def test_a_bare_absolute_path_is_that_serial_port(path: str) -> None:
    parsed = parse_device_url(path)
    expected = "v4l2" if re.fullmatch(r"/dev/video[0-9]{1,3}", path) else "serial"
    assert (parsed.scheme, parsed.target, parsed.params) == (expected, path, {})
    assert parse_device_url(str(parsed)) == parsed
    assert str(parsed) == f"{expected}://" + quote(path, safe="/")


@given(bare_paths, st.integers(1, 4_000_000))
def test_a_bare_path_takes_a_baudrate(path: str, baudrate: int) -> None:
    parsed = parse_device_url(f"{path}?baudrate={baudrate}")
    assert parsed.target == path and parsed.params == {"baudrate": str(baudrate)}
    assert parse_device_url(str(parsed)) == parsed


@given(st.integers(1, 999))
def test_windows_com_ports_are_serial(number: int) -> None:
    for text in (f"COM{number}", f"com{number}", f"serial://COM{number}"):
        parsed = parse_device_url(text)
        assert (parsed.scheme, parsed.target) == ("serial", f"COM{number}")
        assert parse_device_url(str(parsed)) == parsed


def test_a_bare_path_reaches_the_configuration_as_serial(tmp_path: Path) -> None:
    from kiosk.config import load_config

    config = tmp_path / "kiosk.ini"
    config.write_text("[devices]\nidcard = /dev/ttyUSB0\nprinter = COM3?baudrate=9600\n"
                      "camera = /dev/video0\n", encoding="utf-8")
    devices = load_config(config).devices
    assert str(devices.idcard) == "serial:///dev/ttyUSB0"
    assert str(devices.printer) == "serial://COM3?baudrate=9600"
    assert str(devices.camera) == "v4l2:///dev/video0"

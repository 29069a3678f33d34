"""Shared fixtures. Kivy reads its environment on first import, so it is set here first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_METRICS_DENSITY", "1")
# Mesa's software rasteriser (llvmpipe) with its worker threads was seen to stall the
# offscreen window for 6-10 s when a label's texture was re-uploaded while an earlier frame
# was still being drawn (the idle countdown's "1"); with rendering on the calling thread the
# same upload waits well under a second. Real kiosks draw on a GPU.
os.environ.setdefault("LP_NUM_THREADS", "0")
os.environ.pop("KIOSK_CONFIG", None)

REPO = Path(__file__).resolve().parent.parent

# Hypothesis's per-example deadline (200 ms) is a timing assertion, and speed is measured in
# benchmarks, never in tests: on a loaded 2-core CI machine it failed a correct property.
settings.register_profile("kiosk", deadline=None)
settings.load_profile("kiosk")

SAMPLE_CATALOG = REPO / "kiosk" / "data" / "matters_guangan.json"


@pytest.fixture(scope="session")
def ui_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration for UI tests: its own data folder, devices emulated."""
    from kiosk.platform.signing import create_key_file

    folder = tmp_path_factory.mktemp("ui")
    path = folder / "kiosk.ini"
    path.write_text(
        "[kiosk]\nid = 511602-TEST-01\nlanguage = zh_CN\nidle_timeout = 600\n"
        f"[storage]\ndata_dir = {folder / 'data'}\n"
        f"[platform]\nkey_file = {folder / 'platform.key'}\n"
        "[display]\ndeveloper = 1\n"
        "[metrics]\nport = 0\n",  # tests that scrape start their own exporter
        encoding="utf-8",
    )
    create_key_file(folder / "platform.key")  # a provisioned kiosk accepts applications
    return path


@pytest.fixture(scope="session")
def headless(ui_config_file: Path):
    """The real kiosk app in one offscreen window shared by all UI tests (portrait)."""
    from kiosk.config import load_config
    from screens.harness import HeadlessKiosk

    kiosk = HeadlessKiosk(load_config(ui_config_file), (1080, 1920))
    kiosk.start()
    yield kiosk
    kiosk.stop()


def working_devices(headless) -> None:
    """Every emulated device in working order and the app seeing it so, and the kiosk in
    service: a printer left out of paper, a reader left unplugged or the out-of-service
    switch left on by one test is not the next test's failure."""
    devices = headless.app.services.devices
    devices.emulators.restore()
    headless.idle_until(lambda: all(devices.states().get(name) == "online"
                                    for name in ("idcard", "printer")),
                        what="reader and printer online", seconds=20)
    watch = getattr(headless.app, "service_watch", None)
    if watch is not None and headless.app.out_of_service:  # left on by an earlier test
        watch.service.set_automatic(False)
        watch.switch(False, "tests")


@pytest.fixture()
def kiosk(headless, request):
    """The shared app, back on the attract screen in Chinese before and after each test.

    Each test starts with every emulated device working and an empty crash-guard window
    (UI errors raised on purpose by earlier tests must not add up to a restart of the shared
    app in a later one). A test during which the crash guard caught an error fails, unless
    it is marked ``ui_errors``: the guard keeps the kiosk alive, and so would hide the bug."""
    tally = headless.app.crash_guard.tally
    tally.forget_recent()
    working_devices(headless)
    headless.app.end_session()
    headless.app.toggle_language("zh_CN")
    headless.pump(2)
    errors_before = tally.total
    yield headless
    headless.pump(2)  # a recovery scheduled by the last frame runs now
    errors = tally.total - errors_before
    for child in list(headless.app.root_window.children):
        if child is not headless.app.root:
            child.dismiss(animation=False)
    headless.app.end_session()
    headless.app.toggle_language("zh_CN")
    headless.pump(2)
    if errors and not request.node.get_closest_marker("ui_errors"):
        pytest.fail(f"{errors} UI error(s) caught by the crash guard during this test (the "
                    f"last a {tally.last_type}): see the log lines 'UI error ... at ...'. "
                    "A citizen would have lost the visit.")

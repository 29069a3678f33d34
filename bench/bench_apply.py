"""Apply journey figures (issue 11): taps, touch latency, camera preview rate, memory.

Taps from a read card to the printed receipt, touch to next screen drawn on a 20-field form
and on the capture screen, the live camera preview's frame rate while the page outline is
found, and memory over many visits that apply. Everything runs offline on the real app in
the offscreen window (SDL offscreen, Mesa llvmpipe: software GL, as on a kiosk PC without
GPU acceleration), with the emulated card reader, camera and printer; the matter's record,
guide and form are cached as a sync would have cached them (as tests/test_apply_journey.py
does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchResult, percentile, provisioned_config
from bench.touch import Flips, touch_to_drawn

REPO = Path(__file__).resolve().parent.parent
APPLY = REPO / "etc" / "journeys" / "apply.json"
JOURNEY_MATTER = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
TAPS = 100
"""Taps per latency figure (half forward, half back)."""
PREVIEW_SECONDS = 10.0
MAX_TAPS = 6
"""Issue 11: at most 6 taps from a read card to the printed receipt, besides text entry."""
TEXT_ENTRY = ("text", "number", "date", "phone", "id_number", "address")
"""Field types typed on the on-screen keyboard (tapping one only focuses it for typing)."""


def write_config(folder: Path) -> Path:
    """A provisioned kiosk (its key file exists) with its own data folder, offline."""
    return provisioned_config(folder, "[kiosk]\nlanguage = zh_CN\nidle_timeout = 600\n")


def seed(services, item_code: str = JOURNEY_MATTER, document: dict | None = None,
         version: int = 1) -> dict:
    """Cache a matter's record, guide and form (``document``, else the sample form) as a
    sync would; returns the form document."""
    from reference_platform.matters import form_id_of
    from reference_platform.samples import form, guide

    matter = services.catalog.matter(item_code)
    record = {"item_code": item_code, "name": matter.name, "department": matter.department,
              "form_id": form_id_of(item_code), "version": version}
    services.catalog.store_document("matter", item_code, record, version)
    services.catalog.store_document("guide", item_code, guide(record, version), version)
    if document is None:
        document = form(record["form_id"], record, version)
    else:
        document = dict(document, form_id=record["form_id"], version=version)
    services.catalog.store_document("form", record["form_id"], document, version)
    return document


def twenty_fields() -> dict:
    """A FORM of 20 fields with every contract field type, five pre-filled from the card."""
    def field(name: str, zh: str, en: str, kind: str, required: bool = False,
              **extra) -> dict:
        return {"name": name, "label": {"zh": zh, "en": en}, "type": kind,
                "required": required, **extra}

    fields = [
        field("applicant_name", "申请人姓名", "Applicant name", "text", True, max_length=40,
              prefill="idcard.name"),
        field("id_number", "公民身份号码", "ID number", "id_number", True,
              prefill="idcard.id_number"),
        field("gender", "性别", "Gender", "choice", choices=["男", "女"],
              prefill="idcard.gender"),
        field("birth_date", "出生日期", "Date of birth", "date", prefill="idcard.birth_date"),
        field("address", "住址", "Address", "address", True, max_length=120,
              prefill="idcard.address"),
        field("phone", "联系电话", "Phone", "phone", True, pattern=r"^1[3-9][0-9]{9}$"),
        field("nation", "民族", "Ethnic group", "text", prefill="idcard.nation"),
        field("household_no", "户号", "Household number", "text", max_length=20),
        field("copies", "申领份数", "Copies", "number", True),
        field("moved_on", "迁入日期", "Date moved in", "date", True),
        field("other_phone", "备用电话", "Other phone", "phone"),
        field("guarantor_id", "担保人身份号码", "Guarantor's ID number", "id_number", True),
        field("reason", "申请事由", "Reason", "text", True, max_length=200),
        field("employer", "工作单位", "Employer", "text", max_length=80),
        field("postcode", "邮政编码", "Postcode", "number", pattern=r"^[0-9]{6}$"),
        field("new_address", "现居住地址", "Address where you live now", "address", True,
              max_length=120),
        field("marital", "婚姻状况", "Marital status", "choice", True,
              choices=["未婚", "已婚", "离异", "丧偶"]),
        field("education", "文化程度", "Education", "choice",
              choices=["小学", "初中", "高中", "大学", "研究生"]),
        field("agree", "本人承诺所填信息真实", "I confirm", "checkbox", True),
        field("notify", "愿意接收短信通知", "Send me text messages", "checkbox"),
    ]
    return {"form_id": "", "title": "【示例】二十项申请表", "fields": fields, "version": 2}


TWENTY_VALUES = {
    "phone": "13800138000", "copies": "1", "moved_on": "2024-05-01",
    "guarantor_id": "110101199003078013", "reason": "居住", "new_address": "测试路1号",
    "marital": "未婚", "agree": "1",
}
"""Valid values for the 20-field form's required fields the card does not fill."""


def start_kiosk(config_path: Path):
    """A started HeadlessKiosk, warmed up as a kiosk is before its first visitor."""
    from kiosk.config import load_config
    from screens.app import SCREENS
    from screens.harness import HeadlessKiosk

    kiosk = HeadlessKiosk(load_config(config_path), (1080, 1920))
    app = kiosk.start()
    kiosk.idle_until(
        lambda: all(app.manager.has_screen(name) for name in SCREENS)
        and app.services._pinyin_input is not None,
        frames=900, what="warm-up",
    )
    controls = app.services.devices.emulators
    controls.card_on("resident")
    controls.set_paper("ok")
    controls.show_scene("document")
    controls.tear_off()
    return kiosk


# -- 1. taps ---------------------------------------------------------------------------------
def counted_taps(steps: list[dict], form: dict) -> tuple[list[str], list[str]]:
    """The taps between the form appearing (the card was read) and the receipt printed, and
    those left out as text entry (a tap that only focuses a typed field, then ``type``)."""
    kinds = {item["name"]: item["type"] for item in form["fields"]}
    first = next(i for i, step in enumerate(steps) if step.get("wait_screen") == "form")
    last = next(i for i, step in enumerate(steps) if "expect_printed" in step)
    counted, entry = [], []
    for index in range(first + 1, last):
        step = steps[index]
        target = step.get("tap") or step.get("tap_text")
        if target is None:
            continue
        following = steps[index + 1] if index + 1 < len(steps) else {}
        name = str(target).removeprefix("field_")
        if "type" in following and kinds.get(name) in TEXT_ENTRY:
            entry.append(f"{target} (focus to type {following['type']!r})")
        else:
            counted.append(str(target))
    return counted, entry


def tap_count(kiosk, scratch: Path) -> list[BenchResult]:
    """Run the shipped journey; count its taps from the read card to the printed receipt."""
    from screens.drive import drive

    form = seed(kiosk.app.services)
    script = json.loads(APPLY.read_text(encoding="utf-8"))
    lines: list[str] = []
    started = time.perf_counter()
    passed = drive(kiosk, APPLY, scratch, report=lines.append)
    seconds = time.perf_counter() - started
    counted, entry = counted_taps(script["steps"], form)
    if passed:
        verdict = f"passed in {seconds:.0f} s"
    else:
        failure = " / ".join(line.strip() for line in lines if line.lstrip().startswith(
            ("FAIL", "screen")))
        verdict = f"**FAILED**: {failure}"
    return [
        BenchResult("shipped journey etc/journeys/apply.json passes (1 yes, 0 no)",
                    1.0 if passed else 0.0, "", goal=1, higher_is_better=True,
                    detail=verdict),
        BenchResult(
            "taps from a read card to the printed receipt, one material (besides text entry)",
            len(counted), "taps", goal=MAX_TAPS,
            detail=f"{'' if passed else '**the journey FAILED, see above**; '}counted in the "
            f"script between the form appearing and the receipt printed: {', '.join(counted)};"
            f" not counted (text entry): {', '.join(entry) or 'none'} and the typing"),
    ]


# -- 2. touch latency ------------------------------------------------------------------------
def to_form(kiosk, limit: float = 30.0) -> None:
    """A new visit from the attract screen to the form, the card read on the reader."""
    app = kiosk.app
    app.end_session()
    kiosk.pump(2)
    app.start_session()
    matter = app.services.catalog.matter(JOURNEY_MATTER)
    app.open_matter(matter)
    kiosk.pump(2)
    app.services.devices.emulators.card_on("resident")
    app.flow.start(matter)
    deadline = time.monotonic() + limit
    while app.manager.current != "form":
        if time.monotonic() > deadline:
            raise TimeoutError(f"the card was not read (on {app.manager.current!r})")
        kiosk.pump()


def load() -> str:
    """The machine's load while measuring: other work on the same cores slows every frame."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def latency_figure(name: str, samples: list[float], note: str) -> BenchResult:
    milliseconds = [sample * 1000 for sample in samples]
    return BenchResult(
        f"touch to next screen drawn, p95 of {len(samples)} taps, {name}",
        percentile(milliseconds, 95), "ms", goal=100,
        detail=f"p50 {percentile(milliseconds, 50):.1f} ms, max {max(milliseconds):.1f} ms; "
        f"{note}; {load()}")


def hold_the_page(kiosk) -> Callable[[], None]:
    """The capture screen's document task never takes the photo by itself (its "held still"
    count is out of reach), so the preview and the outline stay live for as long as measured;
    every frame is still found, straightened and assessed. Returns the undo."""
    import functools

    # the capture screen's camera view imports the task from here when it starts one
    import kiosk.devices.camera_tasks as camera_tasks

    original = camera_tasks.DocumentTask
    camera_tasks.DocumentTask = functools.partial(original, still_frames=10**9)

    def undo() -> None:
        camera_tasks.DocumentTask = original

    return undo


def touch_latency(kiosk) -> list[BenchResult]:
    """Form with 20 fields: Next -> materials and back; capture: Cancel -> materials and
    Photograph -> capture (camera live); normal and large text."""
    app = kiosk.app
    seed(app.services, document=twenty_fields(), version=2)
    flips = Flips()
    undo = hold_the_page(kiosk)
    results = []
    try:
        for large in (False, True):
            to_form(kiosk)
            if large:
                app.toggle_large_text()
            draft = app.services.session.draft
            assert len(draft.form.fields) == 20, "the 20-field form was not used"
            for name, value in TWENTY_VALUES.items():
                draft.set_value(name, value)
            form = app.screen("form")
            form.on_pre_enter()
            kiosk.pump(3)
            mode = f"large text x{app.text_scale:g}" if large else "normal text"
            materials = app.screen("materials")
            samples: list[float] = []
            while len(samples) < TAPS:
                samples.append(touch_to_drawn(kiosk, flips, form.ids.form_next, "materials"))
                samples.append(touch_to_drawn(kiosk, flips, materials.ids.action_bar.ids.back,
                                              "form"))
            results.append(latency_figure(
                f"form with 20 fields, {mode}", samples,
                "Next (all 20 checked) -> materials, Back -> form (rebuilt values)"))
            touch_to_drawn(kiosk, flips, form.ids.form_next, "materials")
            kiosk.pump(3)
            capture = app.screen("capture")
            samples = []
            while len(samples) < TAPS:
                button = next(row for row in materials.ids.materials.children
                              if row.action_text).ids.action
                samples.append(touch_to_drawn(kiosk, flips, button, "capture"))
                kiosk.pump(3)  # the preview is live before Cancel is touched
                samples.append(touch_to_drawn(kiosk, flips, capture.ids.capture_cancel,
                                              "materials"))
            results.append(latency_figure(
                f"capture screen, {mode}", samples,
                "Photograph -> capture (camera starts), Cancel -> materials (camera stops)"))
    finally:
        undo()
        flips.close()
        app.end_session()
        kiosk.pump(2)
    return results


# -- 3. preview frame rate -------------------------------------------------------------------
def preview_rate(kiosk) -> list[BenchResult]:
    """Frames of the live preview drawn per second while the page outline is being found."""
    from kivy.base import EventLoop

    app = kiosk.app
    seed(app.services)
    undo = hold_the_page(kiosk)
    try:
        to_form(kiosk)
        draft = app.services.session.draft
        draft.set_value("phone", "13800138000")
        draft.set_value("agree", "1")
        app.screen("form").next()
        kiosk.pump(2)
        need = draft.missing_materials()[0]
        app.screen("materials").photograph(need.name)
        capture = app.screen("capture")
        view = capture.ids.camera
        kiosk.pump(30)  # the task's first frames, the outline found
        task = capture._task
        outlined = 0
        frames = 0
        before = view.frames_shown
        processed = task.frames_processed
        started = time.perf_counter()
        while time.perf_counter() - started < PREVIEW_SECONDS:
            EventLoop.idle()
            frames += 1
            outlined += bool(view.outline)
        seconds = time.perf_counter() - started
        shown = view.frames_shown - before
        task_fps = task.fps
        task_cost = task.seconds_per_frame
        task_rate = (task.frames_processed - processed) / seconds
    finally:
        undo()
        app.end_session()
        kiosk.pump(2)
    from kivy.config import Config

    return [BenchResult(
        f"camera preview frames drawn per second, capture screen, {seconds:.0f} s",
        shown / seconds, "fps", goal=15, higher_is_better=True,
        detail=f"page outline shown in {outlined / max(1, frames):.0%} of {frames} event-loop "
        f"frames ({frames / seconds:.1f} frames/s, maxfps {Config.get('graphics', 'maxfps')}); "
        f"DocumentTask {task_fps:.1f} fps (its fps property; {task_rate:.1f} frames/s over "
        f"the run, {task_cost * 1000:.0f} ms of work per frame) on its own thread; emulated "
        "camera 1280x720 at 30 fps; drawn by Mesa llvmpipe (software GL, no GPU, like a "
        f"kiosk PC without GPU acceleration); {load()}")]


# -- 4. memory -------------------------------------------------------------------------------
VISITS = textwrap.dedent(
    """
    import ctypes, gc, json, sys, time
    from bench.bench_outbox import rss_mib
    from kiosk.config import load_config
    from screens.harness import HeadlessKiosk

    libc = ctypes.CDLL("libc.so.6")

    def settled():
        gc.collect()
        libc.malloc_trim(0)  # freed memory back to the system: RSS then follows live memory
        return rss_mib()

    warm, visits, apply_every = (int(arg) for arg in sys.argv[2:5])
    kiosk = HeadlessKiosk(load_config(sys.argv[1]), (1080, 1920))
    kiosk.start()
    for number in range(warm):
        kiosk.sample_visit(number, apply_every)
    samples = [settled()]
    started = time.perf_counter()
    for number in range(warm, warm + visits):
        kiosk.sample_visit(number, apply_every)
        samples.append(settled())
    seconds = time.perf_counter() - started
    print("RSS", json.dumps([samples, seconds]), flush=True)
    """
)
"""Many visits in a fresh kiosk process; prints its RSS after warm-up and after each visit."""


def slope(values: list[float]) -> float:
    """Least-squares growth per step of ``values`` (less swayed by one noisy sample than the
    difference of the first and the last)."""
    count = len(values)
    mean_x, mean_y = (count - 1) / 2, sum(values) / count
    spread = sum((x - mean_x) ** 2 for x in range(count))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread


def visit_memory(config_path: Path, warm: int = 10, visits: int = 40,
                 apply_every: int = 1) -> list[BenchResult]:
    """RSS growth over visits that apply (HeadlessKiosk.sample_visit), in a child process
    with ``LP_NUM_THREADS=0`` as bench_ui's figure (llvmpipe's worker threads grow their own
    scene memory with every frame, which would hide the application's)."""
    env = dict(os.environ, LP_NUM_THREADS="0", KIVY_NO_ARGS="1", SDL_VIDEODRIVER="offscreen",
               SDL_AUDIODRIVER="dummy")
    output = subprocess.run([sys.executable, "-c", VISITS, str(config_path), str(warm),
                             str(visits), str(apply_every)], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=3600)
    line = next((line for line in output.stdout.splitlines() if line.startswith("RSS")), None)
    if line is None:
        raise RuntimeError(f"the visit benchmark failed:\n{output.stderr[-3000:]}")
    samples, seconds = json.loads(line.split(" ", 1)[1])
    before = samples[0]
    per_visit = slope(samples)
    projected = per_visit * 1000 / before * 100
    every = "every visit" if apply_every == 1 else f"every {apply_every}th visit"
    return [
        BenchResult(f"kiosk RSS after {warm} warm-up visits that apply", before, "MiB",
                    detail="LP_NUM_THREADS=0 (as bench_ui's memory figure)"),
        BenchResult(f"RSS growth over {visits} more visits that apply", samples[-1] - before,
                    "MiB", detail=f"last minus first; fitted slope {per_visit * 1024:.1f} KiB "
                    f"per visit (RSS after gc.collect() and malloc_trim(0) after every visit, "
                    f"min {min(samples):.1f}, max {max(samples):.1f} MiB), "
                    f"{seconds / visits:.1f} s per visit; HeadlessKiosk.sample_visit: "
                    "bench_ui's visit (catalogue, search, guide, read aloud, staff call, "
                    f"notice, large text and English every other time), then on {every} the "
                    "apply journey offline: card read, form, one material photographed, review, "
                    "submit (sealed in the outbox), receipt printed, Finish"),
        BenchResult("projected RSS growth over 1,000 such visits, % of RSS after warm-up",
                    projected, "%", goal=5,
                    detail=f"fitted {per_visit * 1024:.1f} KiB per visit x 1,000 / "
                    f"{before:.0f} MiB; measured over {visits} visits only (a 10-minute "
                    "bench): see the min/max spread above for the noise"),
    ]


def run() -> list[BenchResult]:
    """All apply figures, with a scratch data folder."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-apply-") as scratch:
        folder = Path(scratch)
        config_path = write_config(folder)
        kiosk = start_kiosk(config_path)
        try:
            results = tap_count(kiosk, folder)
            results += touch_latency(kiosk)
            results += preview_rate(kiosk)
        finally:
            kiosk.stop()
        results += visit_memory(config_path)
    return results


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.3f} {result.unit} {result.detail}")

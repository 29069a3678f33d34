"""Accessibility audit states of the apply journey (added to :data:`screens.audit.STATES`).

Each state puts the app where a citizen would be on the journey, with the sample person of
the emulated reader's "resident" card and the reference platform's sample guide and form of
居住证办理, cached as a sync would have. Nothing is submitted: the done screen is shown
with a made-up receipt number, so the audit leaves no application behind.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.applying.applicant import Applicant

JOURNEY_MATTER = "512B0011200070-511602000000-000-11511300008778693M-1-00"  # 居住证办理
SAMPLE_PERSON = Applicant(name="测试甲", id_number="110101199003078013", source="card",
                          gender="男", nation="汉", birth_date="19900307",
                          address="测试省测试市模拟路1号", issuer="测试市公安局",
                          valid_from="20200101", valid_to="20400101")
"""The emulator's "resident" card holder (a test person, not a real one)."""
SAMPLE_RECEIPT = "K511602-AUDIT-01-20261127-000001-0"


def seed(app) -> None:
    """Cache the journey matter's record, guide and form (as a sync would)."""
    from reference_platform.matters import form_id_of
    from reference_platform.samples import form, guide

    catalog = app.services.catalog
    if catalog.form_document(JOURNEY_MATTER)[1] is not None:
        return  # cached by an earlier state of this run
    matter = catalog.matter(JOURNEY_MATTER)
    record = {"item_code": matter.item_code, "name": matter.name,
              "department": matter.department, "form_id": form_id_of(JOURNEY_MATTER),
              "version": 1}
    catalog.store_document("matter", JOURNEY_MATTER, record, 1)
    catalog.store_document("guide", JOURNEY_MATTER, guide(record, 1), 1)
    catalog.store_document("form", record["form_id"], form(record["form_id"], record, 1), 1)


def _begin(app, *, card: bool = False) -> None:
    """The citizen opened the guide and pressed Apply (no card on the reader)."""
    seed(app)
    controls = app.services.devices.emulators
    if controls.reader is not None:
        controls.card_off()
    app.start_session()
    app.open_matter(app.services.catalog.matter(JOURNEY_MATTER))
    app.flow.start(app.services.session.matter)
    if card:
        app.flow.identified(SAMPLE_PERSON, "applicant")


def _identify_problem(app) -> None:
    from kiosk.devices.hub import CardEvent

    _begin(app)
    app.screen("identify")._card_event(CardEvent("failed", None, "reposition"))


def _identify_typed(app) -> None:
    _begin(app)
    screen = app.screen("identify")
    screen.use_mode("manual")
    for key in "11010119900307801":
        screen.ids.pad.on_key(key, key)
    screen.ids.pad.on_key("9", "9")  # a wrong check character: the message beside it


def _identify_ecode(app) -> None:
    _begin(app)
    app.online = False
    app.screen("identify").use_mode("ecode")


def _form_typing(app) -> None:
    _begin(app, card=True)
    app.screen("form")._edit("phone")


def _form_problems(app) -> None:
    _begin(app, card=True)
    app.screen("form").next()


def _materials(app) -> None:
    _begin(app, card=True)
    draft = app.services.session.draft
    draft.set_value("phone", "13800138000")
    draft.set_value("agree", "1")
    app.flow.form_done()


def _capture(app, what: str, reviewing: bool = False) -> None:
    _materials(app)
    need = app.services.session.draft.missing_materials()[0]
    app.flow.capture(what, need.name if what == "document" else "")
    if reviewing:
        import cv2
        import numpy as np

        page = np.full((1000, 700, 3), 245, np.uint8)
        cv2.putText(page, "SAMPLE", (60, 500), cv2.FONT_HERSHEY_SIMPLEX, 4, (20, 20, 20), 8)
        app.screen("capture")._taken_photo(cv2.imencode(".jpg", page)[1].tobytes())


def _review(app) -> None:
    _materials(app)
    draft = app.services.session.draft
    for need in draft.missing_materials():
        draft.captured[need.name] = [b"\xff\xd8sample"] * need.pages
    app.show("review")


def _delivery(app) -> None:
    _review(app)
    app.screen("review").choose_express()


def _done(app, printed: bool) -> None:
    from screens.done import PRINTER_PROBLEMS, qr_texture
    from screens.i18n import tr

    app.start_session()
    screen = app.screen("done")
    app.show("done", remember=False)
    screen.receipt_no = SAMPLE_RECEIPT
    screen.matter_name = app.services.catalog.matter(JOURNEY_MATTER).name
    screen.qr = qr_texture(SAMPLE_RECEIPT)
    screen.offline = not printed
    screen.message = tr._("Your application is saved on this kiosk. It will be sent to the platform automatically when the network is back. Keep your receipt: its number tracks the application.")  # noqa: E501
    screen.print_state = "printed" if printed else "failed"
    screen.print_problem = "" if printed else tr._(PRINTER_PROBLEMS["paper_out"])


APPLY_STATES: dict[str, Callable[[object], None]] = {
    "identify-card": _begin,
    "identify-reposition": _identify_problem,
    "identify-typed": _identify_typed,
    "identify-ecode-offline": _identify_ecode,
    "form-typing": _form_typing,
    "form-problems": _form_problems,
    "materials": _materials,
    "capture-document": lambda app: _capture(app, "document"),
    "capture-check": lambda app: _capture(app, "document", reviewing=True),
    "capture-face": lambda app: _capture(app, "face"),
    "review": _review,
    "delivery": _delivery,
    "done-printed": lambda app: _done(app, printed=True),
    "done-printer-failed": lambda app: _done(app, printed=False),
}
"""The apply journey's states, in the order a citizen meets them."""

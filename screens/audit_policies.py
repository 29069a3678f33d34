"""Accessibility audit states of the policy matching screen (added to
:data:`screens.audit.STATES`).

Each state opens the screen as a citizen would and ticks situations with the screen's own
rows; a card is simulated by handing a sample person of the emulated reader (made-up
numbers, drivers/idcard/emulator.py) to ``identified``, as the identify screen does:
nothing but tags, tags with a card from the district (full matches and open points), and a
card from elsewhere with no full match (the ruled-out count).
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.applying.applicant import Applicant

# the emulator's "rare_name" card (Guang'an district, woman, born 1985) and "resident" card
# (Beijing, man, born 1990); made-up people
LOCAL_PERSON = Applicant(name="测试堃喆", id_number="511602198511110029", source="card",
                         gender="女", birth_date="19851111")
VISITOR = Applicant(name="测试甲", id_number="110101199003078013", source="card", gender="男",
                    birth_date="19900307")


def _policies(app, tags: tuple[str, ...] = (), person: Applicant | None = None) -> None:
    app.start_session()
    app.show("policies")
    screen = app.screen("policies")
    for tag in tags:
        screen._rows[tag].checked = True
    if person is not None:
        screen.identified(person)
    screen.refresh()


POLICY_STATES: dict[str, Callable[[object], None]] = {
    "policies-tags": lambda app: _policies(app, ("graduate", "elderly_carer")),
    "policies-card": lambda app: _policies(app, ("unemployed",), LOCAL_PERSON),
    "policies-no-match": lambda app: _policies(app, (), VISITOR),
}
"""State name -> how to reach it from the attract screen."""

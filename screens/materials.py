"""The materials of the guide, each with what the kiosk does about it.

"From e-licence" (the platform already holds it), "photograph now", or "not needed here"
(the ID card that was just read, the form filled on this kiosk). A material to photograph
opens the capture screen; one already photographed can be taken again.
"""

from __future__ import annotations

import os

from kivy.app import App
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.i18n import tr
from screens.widgets import KioskScreen


class MaterialRow(BoxLayout):
    """One material: its name, its state in words, and a button when it is to photograph."""

    name_text = StringProperty("")
    state_text = StringProperty("")
    action_text = StringProperty("")  # empty: nothing to do here
    done = BooleanProperty(False)
    material = StringProperty("")


def material_state(how: str, pages_taken: int, pages: int) -> str:
    """The words beside a material."""
    if how == "licence":
        return tr._("From e-licence: nothing to bring")
    if how == "not_needed":
        return tr._("Not needed here")
    if pages_taken >= pages:
        return tr._("Photographed")
    if pages == 2:
        return tr._("Photograph now: front and back")
    return tr._("Photograph now")


class MaterialsScreen(KioskScreen):
    """The list; Next is enabled once every material to photograph has its pages."""

    complete = BooleanProperty(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[str, ...] = ()  # the materials the rows were built for

    def on_pre_enter(self, *args) -> None:
        draft = self.services.session.draft
        box = self.ids.materials
        if draft is None:
            box.clear_widgets()
            self._shown = ()
            return
        self.title = tr._("Materials")
        names = tuple(need.name for need in draft.materials)
        if names != self._shown:
            # built once per list: coming back from the camera only updates the rows (new
            # rows cost tens of milliseconds and garbage collections on a citizen's tap)
            box.clear_widgets()
            for name in names:
                box.add_widget(MaterialRow(name_text=name, material=name))
            self._shown = names
        photographed = 0
        for need, row in zip(draft.materials, reversed(box.children), strict=True):
            taken = len(draft.captured.get(need.name, ()))
            done = need.how != "photograph" or taken >= need.pages
            action, automation_id = "", ""
            if need.how == "photograph":
                photographed += 1  # material_1 is the first material to photograph
                action = tr._("Photograph again") if done else tr._("Photograph")
                automation_id = f"material_{photographed}"
            # each text set once and only when it changes: a label given the text it shows
            # again redraws its texture, which waits for the frames in flight in Mesa
            row.state_text = material_state(need.how, taken, need.pages)
            row.done = done
            row.action_text = action
            row.ids.action.automation_id = automation_id
        if not draft.materials:
            self.ids.materials_empty.height = dp(80)
        self.complete = not draft.missing_materials()

    def photograph(self, material: str) -> None:
        """Open the camera for ``material``'s pages."""
        App.get_running_app().flow.capture("document", material)

    def next(self) -> None:
        """Every page is there: on to the review."""
        if self.complete:
            App.get_running_app().show("review")

    def spoken_text(self) -> str:
        draft = self.services.session.draft
        lines = [self.title]
        for row in reversed(self.ids.materials.children):
            lines.append(f"{row.name_text}: {row.state_text}")
        return "\n".join(lines) if draft else self.title

    def on_language(self, language: str) -> None:
        if self.manager is not None and self.manager.current == self.name:
            self.on_pre_enter()

    def reset(self) -> None:
        """Nothing of the visit remains."""
        self.ids.materials.clear_widgets()
        self._shown = ()
        self.complete = False


Builder.load_file(os.path.join(os.path.dirname(__file__), "materials.kv"))

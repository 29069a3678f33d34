"""The accessibility checks, applied to one rendered state of the running app.

Each check looks at what a citizen gets, not at what the kv file meant: the widget tree as
laid out in the window, and the pixels read back from it.

- Text that needs more room than its box (measured again with the label's own font, size
  and width, without the box's clipping), drawn outside its box, ellipsized where the whole
  text is shown nowhere else, cut by ``max_lines``, or an English word broken across lines.
- Text drawn over another text.
- Touch targets under 48 dp (buttons, rows, on-screen keyboard keys).
- Text contrast under 4.5:1, or 3:1 for large text (WCAG 1.4.3: 18 pt, or 14 pt bold),
  between the label's colour and the background sampled from the render under it.
- Scroll indicators under 3:1 (WCAG 1.4.11) where a list is longer than its view.
- Back, home, call staff, language and text size reachable on every screen.

Kept apart from the states (:mod:`screens.audit`) so that a later screen's test can run
the checks on its own states.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from kivy.core.window import Window
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.scrollview import ScrollView
from kivy.uix.vkeyboard import VKeyboard

MIN_TARGET_DP = 48
TEXT_CONTRAST = 4.5
LARGE_TEXT_CONTRAST = 3.0
NON_TEXT_CONTRAST = 3.0
LARGE_TEXT_PX = 24.0  # 18 pt at 96 dpi (WCAG's "large scale")
LARGE_BOLD_PX = 18.66  # 14 pt bold
SLACK_PX = 1.5  # rounding of texture sizes
NAV_IDS = ("home", "call_staff", "language", "large_text")
_COLOR_TAG = re.compile(r"\[color=#?([0-9a-fA-F]{6})\]")


@dataclass(frozen=True)
class Finding:
    """One problem a citizen would meet; ``widget`` is its automation id or a short path."""

    kind: str
    widget: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        """For the JSON report."""
        return {"kind": self.kind, "widget": self.widget, "detail": self.detail}


# ------------------------------------------------------------------------------ the tree


def layers() -> list:
    """The window's top-level widgets, bottom first (the app's root, then open dialogs)."""
    return list(reversed(Window.children))


def walk(widget) -> Iterator:
    """``widget`` and its descendants that are shown (opacity above zero)."""
    if widget.opacity <= 0:
        return
    yield widget
    for child in widget.children:
        yield from walk(child)


def named_widgets(root) -> Iterator[tuple[str, object]]:
    """``(automation id, widget)`` for every widget under ``root`` a kv rule named, and for
    every widget built in Python with an ``automation_id`` (one row per form field)."""
    for widget in root.walk(restrict=True):
        own = getattr(widget, "automation_id", "")
        if own:
            yield own, widget
        for name, target in getattr(widget, "ids", {}).items():
            try:
                real = getattr(target, "__self__", target)  # kv keeps ids as weak proxies
            except ReferenceError:  # a widget the screen removed (a tile not offered)
                continue
            yield name, real


def automation_names(root) -> dict[int, str]:
    """``id(widget) -> "rule_id"`` for every widget a kv rule gave an id."""
    names: dict[int, str] = {}
    for name, widget in named_widgets(root):
        names.setdefault(id(widget), name)
    return names


def describe(widget, names: dict[int, str]) -> str:
    """The widget's automation id, or its nearest named ancestor and class."""
    chain = []
    node = widget
    while node is not None and node is not node.parent:
        if id(node) in names:
            chain.append(names[id(node)])
            break
        node = node.parent
    label = type(widget).__name__
    if chain and id(widget) in names:
        return chain[0]
    return f"{chain[0]}/{label}" if chain else label


def window_box(widget) -> tuple[float, float, float, float]:
    """(x, y, width, height) of ``widget`` in window coordinates."""
    x, y = widget.to_window(widget.x, widget.y)
    return x, y, widget.width, widget.height


def visible_box(widget) -> tuple[float, float, float, float] | None:
    """The part of ``widget`` not clipped by scroll views or the window; None if hidden."""
    x0, y0, w, h = window_box(widget)
    x1, y1 = x0 + w, y0 + h
    node = widget.parent
    while node is not None and node is not node.parent:
        if isinstance(node, ScrollView):
            sx, sy, sw, sh = window_box(node)
            x0, y0, x1, y1 = max(x0, sx), max(y0, sy), min(x1, sx + sw), min(y1, sy + sh)
        node = node.parent
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, Window.width), min(y1, Window.height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1 - x0, y1 - y0


def allows_ellipsis(widget) -> bool:
    """A row whose text is shown whole where it leads (a matter's guide) may ellipsize."""
    node = widget
    while node is not None and node is not node.parent:
        if getattr(node, "shows_whole_when_opened", False):
            return True
        node = node.parent
    return False


# ------------------------------------------------------------------------------ text fit


@dataclass
class _Measured:
    width: float
    height: float
    lines: list


def _measure(label, width: float | None) -> _Measured:
    """The text's size with ``label``'s font and size, wrapped at ``width``, never clipped."""
    core = label._label
    options = dict(core.options)
    options.update(text_size=(width, None), shorten=False, max_lines=0,
                   padding=(0, 0, 0, 0))
    for legacy in ("padding_x", "padding_y"):
        options.pop(legacy, None)
    measured = type(core)(**options)
    measured.text = core.text
    needed_w, needed_h = measured.render()
    lines = [line for line in measured._cached_lines if line.words or line.h]
    return _Measured(needed_w, needed_h, lines)


def _padding(label) -> tuple[float, float]:
    left, top, right, bottom = label.padding
    return left + right, top + bottom


def text_fit(label, name: str) -> list[Finding]:
    """Whether ``label``'s text is shown whole inside its box."""
    text = label.text
    if not text.strip() or label.width < 2 or label.height < 2:
        return []
    label.texture_update()
    pad_x, pad_y = _padding(label)
    box_w, box_h = label.width - pad_x, label.height - pad_y
    tw, th = label.text_size
    found: list[Finding] = []
    short = _short(text)
    if tw is None:
        needed_w, needed_h = label.texture_size
        if needed_w > label.width + SLACK_PX:
            found.append(Finding("overflow", name, f"{short!r} needs {needed_w:.0f} px wide, "
                                 f"box {label.width:.0f}"))
        if needed_h > label.height + SLACK_PX:
            found.append(Finding("overflow", name, f"{short!r} needs {needed_h:.0f} px tall, "
                                 f"box {label.height:.0f}"))
        return found
    wrap = min(tw, box_w) if tw > 0 else box_w
    if label.shorten:
        single = _measure(label, None)
        if single.width > wrap + SLACK_PX:
            if not allows_ellipsis(label):
                found.append(Finding("ellipsized", name, f"{short!r} cut to fit "
                                     f"{wrap:.0f} px (needs {single.width:.0f})"))
            return found
        return found
    measured = _measure(label, wrap)
    lines = measured.lines
    if label.max_lines and len(lines) > label.max_lines:
        found.append(Finding("cut", name, f"{short!r} needs {len(lines)} lines, "
                             f"max_lines {label.max_lines}"))
    available_h = th - pad_y if th is not None else box_h
    available_h = min(available_h, box_h)
    if measured.height > available_h + SLACK_PX and not label.max_lines:
        found.append(Finding("overflow", name, f"{short!r} needs {measured.height:.0f}"
                             f" px tall, box {available_h:.0f}"))
    found += broken_words(text, lines, name)
    return found


def broken_words(text: str, lines, name: str) -> list[Finding]:
    """English words split across two lines ("Administ / rative")."""
    texts = ["".join(word.text for word in line.words) for line in lines]
    found = []
    for first, second in itertools.pairwise(texts):
        if first[-1:].isascii() and first[-1:].isalpha() and second[:1].isascii() \
                and second[:1].isalpha() and (first + second[:1]) in text.replace("\n", " "):
            tail = first.split(" ")[-1]
            head = second.split(" ")[0]
            found.append(Finding("broken_word", name, f"{tail} / {head}"))
    return found


def ink_box(label) -> tuple[float, float, float, float]:
    """Where the texture is drawn, in window coordinates (Kivy centres it on the label)."""
    tw, th = label.texture_size
    cx, cy = label.to_window(*label.center)
    return cx - tw / 2, cy - th / 2, tw, th


def overlaps(labels: list, names: dict[int, str]) -> list[Finding]:
    """Texts whose drawing spills into another text's box."""
    found = []
    for index, first in enumerate(labels):
        fx, fy, fw, fh = ink_box(first)
        if fw <= first.width + SLACK_PX and fh <= first.height + SLACK_PX:
            continue  # drawn inside its own box, which the layout keeps apart from others
        for second in labels[:index] + labels[index + 1:]:
            if _related(first, second):
                continue
            sx, sy, sw, sh = window_box(second)
            dx = min(fx + fw, sx + sw) - max(fx, sx)
            dy = min(fy + fh, sy + sh) - max(fy, sy)
            if dx > 2 and dy > 2:
                found.append(Finding("overlap", describe(first, names),
                                     f"{_short(first.text)!r} drawn over "
                                     f"{describe(second, names)}"))
    return found


def _related(first, second) -> bool:
    for a, b in ((first, second), (second, first)):
        node = a.parent
        while node is not None and node is not node.parent:
            if node is b:
                return True
            node = node.parent
    return False


def _short(text: str, limit: int = 40) -> str:
    text = re.sub(r"\[/?[a-z]+(=[^\]]*)?\]", "", text).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------ targets


def targets(widgets: list, names: dict[int, str]) -> list[Finding]:
    """Buttons, rows and keyboard keys of at least 48 dp in both directions."""
    minimum = dp(MIN_TARGET_DP)
    found = []
    for widget in widgets:
        if isinstance(widget, ButtonBehavior) and not widget.disabled:
            if visible_box(widget) is None:
                continue
            if min(widget.width, widget.height) + 0.5 < minimum:
                found.append(Finding("small_target", describe(widget, names),
                                     f"{widget.width:.0f}x{widget.height:.0f} px"))
        elif isinstance(widget, VKeyboard):
            geometry = widget.layout_geometry
            for key, sizes in geometry.items():
                if not key.startswith("LINE_") or key.startswith("LINE_HINT"):
                    continue
                for _pos, (kw, kh) in sizes:
                    if min(kw, kh) + 0.5 < minimum:
                        found.append(Finding("small_target", describe(widget, names),
                                             f"key {kw:.0f}x{kh:.0f} px"))
    return found


# ------------------------------------------------------------------------------ contrast


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour given as 0..1 floats."""
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(float(c)) for c in rgb[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first, second) -> float:
    """WCAG contrast ratio of two colours."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def blend(colour, background) -> tuple[float, float, float]:
    """``colour`` (rgba) drawn over an opaque ``background``."""
    alpha = colour[3] if len(colour) > 3 else 1.0
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(colour[:3], background[:3],
                                                                strict=False))


def background_under(pixels, box, avoid) -> tuple[float, float, float] | None:
    """The most common colour in ``box`` of the render, other than the text's own colour."""
    x, y, w, h = (round(v) for v in box)
    region = pixels[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)]
    if region.size == 0:
        return None
    step = max(1, int((region.shape[0] * region.shape[1] / 4000) ** 0.5))
    counts = Counter(map(tuple, region[::step, ::step].reshape(-1, 3)))
    avoid_px = tuple(round(c * 255) for c in avoid[:3])
    for colour, _count in counts.most_common(4):
        if sum(abs(int(a) - b) for a, b in zip(colour, avoid_px, strict=False)) > 24:
            return tuple(c / 255 for c in colour)
    return None


def text_colours(label) -> list[tuple[float, ...]]:
    """The colours the label's text is drawn in: its colour and any markup colours."""
    colour = label.disabled_color if label.disabled else label.color
    colours = [tuple(colour)]
    if label.markup:
        for hex_code in _COLOR_TAG.findall(label.text):
            colours.append((*(int(hex_code[i:i + 2], 16) / 255 for i in (0, 2, 4)), 1))
    return colours


def is_large(label) -> bool:
    """WCAG large-scale text: 18 pt, or 14 pt bold (in pixels at the kiosk's 1 dp = 1 px)."""
    return label.font_size >= LARGE_TEXT_PX or (label.bold and label.font_size >= LARGE_BOLD_PX)


def text_contrast(label, pixels, name: str) -> list[Finding]:
    """Each text colour against the background the render shows under the label."""
    box = visible_box(label)
    if box is None or label.disabled:  # WCAG 1.4.3 exempts inactive controls
        return []
    need = LARGE_TEXT_CONTRAST if is_large(label) else TEXT_CONTRAST
    found = []
    for colour in text_colours(label):
        background = background_under(pixels, box, colour)
        if background is None:
            continue
        ratio = contrast(blend(colour, background), background)
        if ratio + 0.005 < need:
            found.append(Finding("contrast", name, f"{_short(label.text)!r} {ratio:.2f}:1 "
                                 f"(needs {need}:1)"))
    return found


def scroll_indicators(widgets: list, pixels, names: dict[int, str]) -> list[Finding]:
    """A list longer than its view shows where the citizen is, at 3:1 or better."""
    found = []
    for view in widgets:
        if not isinstance(view, ScrollView) or not view.do_scroll_y or not view.children:
            continue
        content = view.children[0]
        if content.height <= view.height + 1:
            continue
        x, y, w, h = window_box(view)
        strip = (x + w - dp(40), y, dp(40), h)
        background = background_under(pixels, strip, view.bar_color)
        if background is None:
            continue
        name = describe(view, names)
        if view.bar_width < dp(8):
            found.append(Finding("scroll_indicator", name, f"bar {view.bar_width:.0f} px wide"))
        for which in ("bar_color", "bar_inactive_color"):
            ratio = contrast(blend(getattr(view, which), background), background)
            if ratio + 0.005 < NON_TEXT_CONTRAST:
                found.append(Finding("scroll_indicator", name, f"{which} {ratio:.2f}:1"))
    return found


# ------------------------------------------------------------------------------ reach


def reachability(app, top_layer, names: dict[int, str]) -> list[Finding]:
    """The shared actions are on screen and not covered; a dialog offers a way out."""
    if isinstance(top_layer, ModalView):
        buttons = [w for w in walk(top_layer) if isinstance(w, ButtonBehavior)
                   and not w.disabled]
        return [] if buttons else [Finding("dead_end", type(top_layer).__name__,
                                           "dialog without a button")]
    screen = app.manager.current_screen
    ids = getattr(screen, "ids", {})
    if screen.name == "attract":
        wanted = ("lang_zh", "lang_en", "large_text", "call_staff")
    elif getattr(screen, "technician_actions", None):
        # a technician's screen (PIN, diagnostics) has its own way out, language and text
        # size instead of the citizens' bar: Home and Call staff lead nowhere a visit goes
        wanted = screen.technician_actions
    else:
        bar = ids.get("action_bar")
        if bar is None:
            return [Finding("dead_end", screen.name, "no action bar")]
        ids = bar.ids
        # Back everywhere but where going back makes no sense: home, and the done screen
        # (the application is sealed; the way on is Finish or Home)
        wanted = NAV_IDS + (("back",) if getattr(screen, "show_back", True) else ())
    found = []
    for wanted_id in wanted:
        widget = ids.get(wanted_id)
        if widget is None or widget.disabled or widget.opacity <= 0 \
                or visible_box(widget) is None:
            found.append(Finding("unreachable", f"{screen.name}/{wanted_id}", "not on screen"))
    return found


# ------------------------------------------------------------------------------ one state


def read_pixels():
    """The window's current frame as a (height, width, 3) uint8 array, bottom row first."""
    import numpy
    from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glPixelStorei, glReadPixels

    glPixelStorei(0x0D05, 1)  # GL_PACK_ALIGNMENT: rows are not padded
    width, height = (int(v) for v in Window.size)
    data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
    return numpy.frombuffer(data, dtype=numpy.uint8).reshape(height, width, 3)


def check_state(app) -> list[Finding]:
    """Every check on what the window shows now."""
    pixels = read_pixels()
    found: list[Finding] = []
    stack = layers()
    top = stack[-1]
    for layer in stack:
        names = automation_names(layer)
        widgets = list(walk(layer))
        labels = [w for w in widgets if isinstance(w, Label) and w.text.strip()
                  and visible_box(w) is not None]
        for label in labels:
            name = describe(label, names)
            found += text_fit(label, name)
            if layer is top:
                found += text_contrast(label, pixels, name)
        found += overlaps(labels, names)
        if layer is top:
            found += targets(widgets, names)
            found += scroll_indicators(widgets, pixels, names)
    found += reachability(app, top, automation_names(top))
    return _unique(found)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    unique = []
    for finding in findings:
        if finding not in seen:
            seen.add(finding)
            unique.append(finding)
    return unique

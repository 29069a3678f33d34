"""Find the Simplified Chinese face of Noto Sans CJK and make it loadable by Kivy.

Debian ships Noto Sans CJK as TrueType collections whose first face is Japanese. Kivy's
SDL2_ttf text provider always opens face 0, so Chinese would be drawn with Japanese glyph
shapes (骨, 直 differ visibly). We therefore copy the "Noto Sans CJK SC" face out of the
collection into a standalone OpenType file once (a few seconds, done by ``make``) and
register that file. Smaller fonts are no substitute: WenQuanYi and GB2312 subsets lack
name characters such as 䶮 (Ext-A) and 𠮷 (Ext-B) that appear on ID cards.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FAMILY = "Noto Sans CJK SC"
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
COLLECTIONS = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}


@dataclass(frozen=True)
class FontFiles:
    """Standalone SC faces ready for ``LabelBase.register``."""

    regular: Path
    bold: Path


class FontMissingError(RuntimeError):
    """No Noto Sans CJK collection is installed (Debian package ``fonts-noto-cjk``)."""


def default_cache_dir() -> Path:
    """Where extracted faces live: ``$XDG_CACHE_HOME/gov-kiosk/fonts``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gov-kiosk" / "fonts"


def find_collection(filename: str, search_dirs: tuple[Path, ...] = FONT_DIRS) -> Path | None:
    """The first installed collection called ``filename`` under ``search_dirs``."""
    for directory in search_dirs:
        if directory.is_dir():
            for candidate in sorted(directory.rglob(filename)):
                return candidate
    return None


def extract_face(collection: Path, family: str, target: Path) -> Path:
    """Write the face of ``collection`` whose family name is ``family`` to ``target``.

    The face is looked up by name rather than by index because the face order of the
    collection is a packaging detail. The file is written atomically so that a kiosk
    switched off half-way never finds a truncated font.
    """
    from fontTools.ttLib import TTCollection

    with TTCollection(str(collection), lazy=True) as fonts:
        for font in fonts:
            if font["name"].getDebugName(1) == family:
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
                os.close(handle)
                try:
                    font.save(temporary)
                    os.chmod(temporary, 0o644)
                    os.replace(temporary, target)
                finally:
                    if os.path.exists(temporary):
                        os.unlink(temporary)
                return target
    raise FontMissingError(f"{collection} has no face named {family!r}")


def ensure_sc_fonts(cache_dir: Path | None = None) -> FontFiles:
    """Return the extracted SC faces, extracting them when missing or stale."""
    cache_dir = cache_dir or default_cache_dir()
    paths: dict[str, Path] = {}
    for weight, filename in COLLECTIONS.items():
        collection = find_collection(filename)
        if collection is None:
            raise FontMissingError(
                f"{filename} not found; install the Debian package fonts-noto-cjk "
                "(make demo and make test do this when run as root)"
            )
        target = cache_dir / f"NotoSansCJKsc-{weight.capitalize()}.otf"
        if not target.exists() or target.stat().st_mtime < collection.stat().st_mtime:
            log.info("extracting %s face of %s", FAMILY, collection.name)
            extract_face(collection, FAMILY, target)
        paths[weight] = target
    return FontFiles(regular=paths["regular"], bold=paths["bold"])


def main() -> int:
    """``python -m kiosk.fonts``: extract the faces ahead of time (used by the Makefile)."""
    try:
        files = ensure_sc_fonts()
    except FontMissingError as error:
        print(f"fonts: {error}")
        return 1
    print(f"fonts: {files.regular}\nfonts: {files.bold}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The bundled DejaVu fonts (free licence, see fonts/LICENSE-DejaVu.txt).

Shipping the font means titles render the same on every machine and nothing
depends on fontconfig or system fonts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONTS_DIR = Path(__file__).resolve().parent / "fonts"


def font_path(bold: bool = False) -> Path:
    return FONTS_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


@lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold)), size)


def wrap_text(text: str, *, size: int, max_width: int, max_lines: int | None = None, bold: bool = False) -> str:
    """Word-wrap ``text`` to ``max_width`` pixels, measured with the bundled font at ``size``.

    Existing line breaks are kept. With ``max_lines``, the text is cut and ends in
    an ellipsis. A single word wider than the line stays whole on its own line
    (breaking inside words reads worse than a slight overflow).
    """
    font = _font(size, bold)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}".strip()
            if font.getlength(candidate) <= max_width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + " …") > max_width:
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[-1] = last + " …"
    return "\n".join(lines)

"""The bundled DejaVu fonts (free licence, see fonts/LICENSE-DejaVu.txt).

Shipping the font means titles render the same on every machine and nothing
depends on fontconfig or system fonts.
"""

from __future__ import annotations

from pathlib import Path

FONTS_DIR = Path(__file__).resolve().parent / "fonts"


def font_path(bold: bool = False) -> Path:
    return FONTS_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")

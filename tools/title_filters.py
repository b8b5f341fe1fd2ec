"""drawtext filters for titles: size, position presets, fade-in/out alpha.

Text always goes through ``textfile=`` with ``expansion=none``, so nothing a user
types (quotes, colons, ``%{...}``, newlines) is interpreted by ffmpeg.
"""

from __future__ import annotations

from pathlib import Path

from shotsmith.fonts import font_path, wrap_text
from shotsmith.timeline import Title
from shotsmith.tools.colors import ffmpeg_color
from shotsmith.tools.graph import F, Filter


def title_font_size(title: Title, height: int) -> int:
    if title.size:
        return title.size
    return max(10, round(height / (9 if title.position == "center" else 14)))


def title_position(title: Title, width: int, height: int) -> tuple[str, str]:
    m = max(8, height // 20)
    presets = {
        "center": ("(w-text_w)/2", "(h-text_h)/2"),
        "top": ("(w-text_w)/2", f"{m}"),
        "bottom": ("(w-text_w)/2", f"h-text_h-{m}"),
        "top_left": (f"{m}", f"{m}"),
        "top_right": (f"w-text_w-{m}", f"{m}"),
        "bottom_left": (f"{m}", f"h-text_h-{m}"),
        "bottom_right": (f"w-text_w-{m}", f"h-text_h-{m}"),
        "lower_third": (f"{max(m, width // 16)}", "h*0.72"),
    }
    x, y = presets[title.position]
    return title.x or x, title.y or y


def title_alpha(start: float, end: float, fade_in: float, fade_out: float) -> str:
    """Alpha expression: 0 -> 1 over ``fade_in`` after ``start``, 1 -> 0 over ``fade_out`` before ``end``."""
    span = end - start
    fade_in, fade_out = min(fade_in, span / 2), min(fade_out, span / 2)
    terms = ["1"]
    if fade_in > 0:
        terms.append(f"(t-{start:g})/{fade_in:g}")
    if fade_out > 0:
        terms.append(f"({end:g}-t)/{fade_out:g}")
    inner = terms[0]
    for term in terms[1:]:
        inner = f"min({inner},{term})"
    return f"clip({inner},0,1)"


def wrapped_title_text(title: Title, width: int, height: int) -> str:
    """The title's text wrapped to fit the frame between its margins (what drawtext draws)."""
    margin = max(8, height // 20)
    text = title.text.replace("\r\n", "\n").strip("\n")
    return wrap_text(text, size=title_font_size(title, height), max_width=max(16, width - 2 * margin - 16),
                     bold=title.bold)


def write_title_text(title: Title, text_file: Path, width: int, height: int) -> None:
    """Write the title's text for ``textfile=``, wrapped to fit the frame between its margins."""
    text_file.write_text(wrapped_title_text(title, width, height), encoding="utf-8")


def title_text_height(title: Title, text: str, height: int) -> int:
    """Pixels the drawn lines of ``text`` take: DejaVu's line box is ~1.17 em, plus drawtext's line spacing
    as :func:`drawtext_filter` sets it."""
    size = title_font_size(title, height)
    lines = max(1, len(text.split("\n")))
    return lines * round(size * 1.17) + (lines - 1) * max(2, size // 5)


def title_box_border(title: Title, height: int) -> int:
    """The box's border around the text (``boxborderw`` in :func:`drawtext_filter`); 0 without a box."""
    return max(4, title_font_size(title, height) // 3) if title.box else 0


def bottom_clearance(title: Title, width: int, height: int) -> int:
    """How far up from the frame's bottom edge a bottom-anchored title (and its box) reaches, in pixels;
    0 for a title placed anywhere else. Burned captions are lifted above it (a slate's label strip)."""
    if title.y is not None or title.position not in ("bottom", "bottom_left", "bottom_right"):
        return 0
    text = wrapped_title_text(title, width, height)
    return max(8, height // 20) + title_text_height(title, text, height) + title_box_border(title, height)


def drawtext_filter(title: Title, text_file: Path, width: int, height: int, start: float, end: float) -> list[Filter]:
    size = title_font_size(title, height)
    x, y = title_position(title, width, height)
    opts: dict = {
        "fontfile": str(font_path(title.bold)), "textfile": str(text_file), "expansion": "none",
        "fontsize": size, "fontcolor": ffmpeg_color(title.color, what="title colour"),
        "x": x, "y": y, "line_spacing": max(2, size // 5),
        "enable": f"between(t,{start:g},{end:g})",
        "alpha": title_alpha(start, end, title.fade_in_s, title.fade_out_s),
    }
    if title.position in ("center", "top", "bottom"):
        opts["text_align"] = "C"
    if title.box:
        opts.update(box=1, boxcolor=ffmpeg_color(title.box_color, what="title box colour"), boxborderw=max(4, size // 3))
    return [F("drawtext", **opts)]

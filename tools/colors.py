"""Colours: ffmpeg's colour names and hex forms, parsed and validated before ffmpeg sees them."""

from __future__ import annotations

import re

from shotsmith.errors import InvalidInputError

#: ffmpeg's named colours (``ffmpeg -colors``), lower-case name -> RRGGBB.
NAMED_COLORS: dict[str, str] = {
    "aliceblue": "F0F8FF",
    "antiquewhite": "FAEBD7",
    "aqua": "00FFFF",
    "aquamarine": "7FFFD4",
    "azure": "F0FFFF",
    "beige": "F5F5DC",
    "bisque": "FFE4C4",
    "black": "000000",
    "blanchedalmond": "FFEBCD",
    "blue": "0000FF",
    "blueviolet": "8A2BE2",
    "brown": "A52A2A",
    "burlywood": "DEB887",
    "cadetblue": "5F9EA0",
    "chartreuse": "7FFF00",
    "chocolate": "D2691E",
    "coral": "FF7F50",
    "cornflowerblue": "6495ED",
    "cornsilk": "FFF8DC",
    "crimson": "DC143C",
    "cyan": "00FFFF",
    "darkblue": "00008B",
    "darkcyan": "008B8B",
    "darkgoldenrod": "B8860B",
    "darkgray": "A9A9A9",
    "darkgreen": "006400",
    "darkkhaki": "BDB76B",
    "darkmagenta": "8B008B",
    "darkolivegreen": "556B2F",
    "darkorange": "FF8C00",
    "darkorchid": "9932CC",
    "darkred": "8B0000",
    "darksalmon": "E9967A",
    "darkseagreen": "8FBC8F",
    "darkslateblue": "483D8B",
    "darkslategray": "2F4F4F",
    "darkturquoise": "00CED1",
    "darkviolet": "9400D3",
    "deeppink": "FF1493",
    "deepskyblue": "00BFFF",
    "dimgray": "696969",
    "dodgerblue": "1E90FF",
    "firebrick": "B22222",
    "floralwhite": "FFFAF0",
    "forestgreen": "228B22",
    "fuchsia": "FF00FF",
    "gainsboro": "DCDCDC",
    "ghostwhite": "F8F8FF",
    "gold": "FFD700",
    "goldenrod": "DAA520",
    "gray": "808080",
    "green": "008000",
    "greenyellow": "ADFF2F",
    "honeydew": "F0FFF0",
    "hotpink": "FF69B4",
    "indianred": "CD5C5C",
    "indigo": "4B0082",
    "ivory": "FFFFF0",
    "khaki": "F0E68C",
    "lavender": "E6E6FA",
    "lavenderblush": "FFF0F5",
    "lawngreen": "7CFC00",
    "lemonchiffon": "FFFACD",
    "lightblue": "ADD8E6",
    "lightcoral": "F08080",
    "lightcyan": "E0FFFF",
    "lightgoldenrodyellow": "FAFAD2",
    "lightgreen": "90EE90",
    "lightgrey": "D3D3D3",
    "lightpink": "FFB6C1",
    "lightsalmon": "FFA07A",
    "lightseagreen": "20B2AA",
    "lightskyblue": "87CEFA",
    "lightslategray": "778899",
    "lightsteelblue": "B0C4DE",
    "lightyellow": "FFFFE0",
    "lime": "00FF00",
    "limegreen": "32CD32",
    "linen": "FAF0E6",
    "magenta": "FF00FF",
    "maroon": "800000",
    "mediumaquamarine": "66CDAA",
    "mediumblue": "0000CD",
    "mediumorchid": "BA55D3",
    "mediumpurple": "9370D8",
    "mediumseagreen": "3CB371",
    "mediumslateblue": "7B68EE",
    "mediumspringgreen": "00FA9A",
    "mediumturquoise": "48D1CC",
    "mediumvioletred": "C71585",
    "midnightblue": "191970",
    "mintcream": "F5FFFA",
    "mistyrose": "FFE4E1",
    "moccasin": "FFE4B5",
    "navajowhite": "FFDEAD",
    "navy": "000080",
    "oldlace": "FDF5E6",
    "olive": "808000",
    "olivedrab": "6B8E23",
    "orange": "FFA500",
    "orangered": "FF4500",
    "orchid": "DA70D6",
    "palegoldenrod": "EEE8AA",
    "palegreen": "98FB98",
    "paleturquoise": "AFEEEE",
    "palevioletred": "D87093",
    "papayawhip": "FFEFD5",
    "peachpuff": "FFDAB9",
    "peru": "CD853F",
    "pink": "FFC0CB",
    "plum": "DDA0DD",
    "powderblue": "B0E0E6",
    "purple": "800080",
    "red": "FF0000",
    "rosybrown": "BC8F8F",
    "royalblue": "4169E1",
    "saddlebrown": "8B4513",
    "salmon": "FA8072",
    "sandybrown": "F4A460",
    "seagreen": "2E8B57",
    "seashell": "FFF5EE",
    "sienna": "A0522D",
    "silver": "C0C0C0",
    "skyblue": "87CEEB",
    "slateblue": "6A5ACD",
    "slategray": "708090",
    "snow": "FFFAFA",
    "springgreen": "00FF7F",
    "steelblue": "4682B4",
    "tan": "D2B48C",
    "teal": "008080",
    "thistle": "D8BFD8",
    "tomato": "FF6347",
    "turquoise": "40E0D0",
    "violet": "EE82EE",
    "wheat": "F5DEB3",
    "white": "FFFFFF",
    "whitesmoke": "F5F5F5",
    "yellow": "FFFF00",
    "yellowgreen": "9ACD32",
}

_HEX = re.compile(r"^(?:0x|#)?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")


def parse_color(value: str, *, what: str = "colour") -> tuple[str, float]:
    """``"red"``, ``"#ff0000"``, ``"0xFF0000"``, ``"white@0.5"`` -> (``"FF0000"``, alpha 0..1).

    Raises InvalidInputError for anything ffmpeg would not understand.
    """
    text = str(value).strip()
    alpha = 1.0
    if "@" in text:
        text, _, alpha_text = text.partition("@")
        try:
            alpha = float(alpha_text)
        except ValueError:
            raise InvalidInputError(f"{what} {value!r}: the alpha after '@' must be a number between 0 and 1") from None
        if not 0.0 <= alpha <= 1.0:
            raise InvalidInputError(f"{what} {value!r}: alpha must be between 0 and 1")
    match = _HEX.match(text)
    if match:
        rgb = match.group(1).upper()
        if match.group(2):
            alpha = alpha * int(match.group(2), 16) / 255
        return rgb, alpha
    named = NAMED_COLORS.get(text.lower())
    if named is None:
        raise InvalidInputError(f"{what} {value!r} is not a colour",
                                hint="use a name such as white or green, or hex such as #FFCC00 (optionally @0.5 for alpha)")
    return named, alpha


def ffmpeg_color(value: str, *, what: str = "colour") -> str:
    """A validated colour in ffmpeg's own syntax: ``0xRRGGBB@alpha``."""
    rgb, alpha = parse_color(value, what=what)
    return f"0x{rgb}" if alpha >= 1.0 else f"0x{rgb}@{alpha:.3f}"


#: Screen colours for chroma keys: "green" means the pure screen green, not CSS green (0x008000).
KEY_COLORS = {"green": "0x00FF00", "blue": "0x0000FF"}


def key_color(value: str) -> str:
    """A chroma-key colour in ffmpeg syntax; ``green``/``blue`` are the pure screen colours."""
    return ffmpeg_color(KEY_COLORS.get(value.strip().lower(), value), what="chroma key colour")

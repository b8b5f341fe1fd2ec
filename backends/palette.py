"""Colours from style words: the one palette table the offline backends share.

The animatic's previz cards and the sketch backend's storyboard panels both
pick their colours here, so a "warm, golden" brief looks warm in both and a
shot keeps its look when its card is replaced by a panel. The first word
found in the style (then in the prompt) wins; the table lists the more
specific looks first.
"""

from __future__ import annotations

#: Style words -> three colours (0xRRGGBB): light, mid, dark.
PALETTES: list[tuple[tuple[str, ...], tuple[str, str, str]]] = [
    (("noir", "black and white", "black-and-white", "monochrome", "grayscale"), ("0x1a1a1a", "0x5c5c5c", "0xbdbdbd")),
    (("neon", "cyberpunk", "synthwave", "club"), ("0xff2a6d", "0x05d9e8", "0x3d0a6b")),
    (("pastel", "soft", "dreamy", "whimsical"), ("0xffc8dd", "0xbde0fe", "0xcdb4db")),
    (("vintage", "retro", "sepia", "film grain", "nostalgic", "16mm", "super 8"), ("0x704214", "0xc89f6b", "0xe8d5b0")),
    (("warm", "golden", "sunset", "sunrise", "morning", "cozy", "cosy", "amber", "coffee"), ("0xf4a259", "0xbc4b51", "0x5b3a29")),
    (("cool", "blue", "night", "moody", "icy", "winter", "teal"), ("0x0b3954", "0x087e8b", "0x1b264f")),
    (("nature", "forest", "green", "organic", "fresh", "spring"), ("0x2d6a4f", "0x95d5b2", "0x1b4332")),
    (("vibrant", "energetic", "bold", "colorful", "colourful", "playful"), ("0xff006e", "0xfb5607", "0x3a86ff")),
    (("corporate", "clean", "minimal", "tech", "explainer"), ("0x2b2d42", "0x8d99ae", "0xedf2f4")),
]
DEFAULT_PALETTE = ("0x264653", "0x2a9d8f", "0x8ab17d")


def palette_for(style: str, prompt: str = "") -> tuple[str, str, str]:
    """The palette of the first look word in ``style``, else in ``prompt``, else the default."""
    for text in (style.lower(), prompt.lower()):
        for words, colours in PALETTES:
            if any(w in text for w in words):
                return colours
    return DEFAULT_PALETTE


def rgb(colour: str) -> tuple[int, int, int]:
    """``"0xRRGGBB"`` (or ``#RRGGBB``) as an (r, g, b) tuple."""
    value = int(colour.removeprefix("0x").removeprefix("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255

"""Plain English colour names: measuring an image's colour and reading one from a prompt."""
from __future__ import annotations

import re

# One representative RGB per name; a pixel takes the name whose representative is nearest.
NAMED_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (40, 160, 60),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 40),
    "orange": (245, 140, 30),
    "purple": (128, 50, 160),
    "pink": (245, 150, 190),
    "brown": (125, 80, 40),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "cyan": (40, 200, 220),
}

# Words a prompt may use for each name, English and Chinese.
_COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("red", "红"),
    "green": ("green", "绿"),
    "blue": ("blue", "蓝"),
    "yellow": ("yellow", "黄"),
    "orange": ("orange", "橙", "橘"),
    "purple": ("purple", "violet", "紫"),
    "pink": ("pink", "粉"),
    "brown": ("brown", "棕", "褐"),
    "black": ("black", "黑"),
    "white": ("white", "白"),
    "grey": ("grey", "gray", "灰"),
    "cyan": ("cyan", "青"),
}


def nearest_colour_name(rgb: tuple[int, int, int]) -> str:
    r, g, b = rgb
    return min(
        NAMED_COLOURS,
        key=lambda name: (r - NAMED_COLOURS[name][0]) ** 2
        + (g - NAMED_COLOURS[name][1]) ** 2
        + (b - NAMED_COLOURS[name][2]) ** 2,
    )


def colour_named_in(text: str) -> str | None:
    """The first colour a text names (English word or Chinese character), if any."""
    best: tuple[int, str] | None = None
    lowered = text.lower()
    for name, words in _COLOUR_WORDS.items():
        for word in words:
            if word.isascii():
                match = re.search(rf"\b{word}\b", lowered)
                position = match.start() if match else -1
            else:
                position = lowered.find(word)
            if position >= 0 and (best is None or position < best[0]):
                best = (position, name)
    return best[1] if best else None

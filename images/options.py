"""What may be asked of CogView: models, the API's recommended sizes, and quality."""
from __future__ import annotations

from django.conf import settings

# The sizes the API reference recommends (glm-api.md); the gallery offers only these.
RECOMMENDED_SIZES = ("1024x1024", "768x1344", "864x1152", "1344x768", "1152x864", "1440x720", "720x1440")
DEFAULT_SIZE = "1024x1024"
QUALITIES = ("standard", "hd")
# Only this model takes a quality (glm-api.md, /images/generations).
QUALITY_MODELS = frozenset({"cogview-4-250304"})


def image_models() -> list[str]:
    return list(settings.IMAGE_MODELS)


def takes_quality(model: str) -> bool:
    return model in QUALITY_MODELS


def parse_size(size: str) -> tuple[int, int]:
    """"1024x768" -> (1024, 768). Raises ValueError for anything else."""
    width, separator, height = size.partition("x")
    if not separator or not width.isdigit() or not height.isdigit():
        raise ValueError(f"bad size {size!r}")
    return int(width), int(height)

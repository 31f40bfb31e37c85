"""What the manual says about each model: context window, output limit, what it accepts."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    context_tokens: int
    max_output_tokens: int
    vision: bool = False
    max_images: int = 0


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("glm-5", 128_000, 16_000),
        ModelSpec("glm-4-plus", 128_000, 8_000),
        ModelSpec("glm-4-flash", 128_000, 8_000),
        ModelSpec("glm-4-air", 128_000, 8_000),
        ModelSpec("glm-4-long", 1_000_000, 8_000),
        ModelSpec("glm-4v-plus", 8_000, 4_000, vision=True, max_images=5),
        ModelSpec("glm-4v-flash", 8_000, 4_000, vision=True, max_images=1),
    )
}

TEXT_CHAT_MODELS = ("glm-5", "glm-4-plus", "glm-4-air", "glm-4-flash", "glm-4-long")


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown GLM model {name!r}; known: {', '.join(MODELS)}") from None


# Requests per minute per API key and model, (free tier, paid tier). The first three rows are
# the manual's table; it publishes no figure for the others, which take the value of their
# family. The emulator enforces these; the site's own limiter keeps under them.
MANUAL_RPM: dict[str, tuple[int, int]] = {
    "glm-4-flash": (10, 100),
    "glm-4-air": (5, 60),
    "glm-5": (5, 60),
    "glm-4-plus": (5, 60),
    "glm-4-long": (5, 60),
    "glm-4v-plus": (5, 60),
    "glm-4v-flash": (10, 100),
    "cogview-4": (5, 60),
    "cogview-4-250304": (5, 60),
    "cogview-3-flash": (10, 100),
}

"""The models the emulator serves, with the manual's context sizes, output caps and RPM limits."""
from __future__ import annotations

from dataclasses import dataclass

from glm.catalog import MANUAL_RPM

K = 1024


@dataclass(frozen=True)
class ChatModel:
    name: str
    context_tokens: int
    max_output_tokens: int
    vision: bool = False
    max_images: int = 0
    accepts_base64_images: bool = False
    # Only models of the GLM-4.5+ generation can reason before answering.
    can_think: bool = False


CHAT_MODELS: dict[str, ChatModel] = {
    model.name: model
    for model in (
        ChatModel("glm-5", 128 * K, 16 * K, can_think=True),
        ChatModel("glm-4-plus", 128 * K, 8 * K),
        ChatModel("glm-4-flash", 128 * K, 8 * K),
        ChatModel("glm-4-air", 128 * K, 8 * K),
        ChatModel("glm-4-long", 1024 * K, 8 * K),
        ChatModel("glm-4v-plus", 8 * K, 4 * K, vision=True, max_images=5, accepts_base64_images=True),
        ChatModel("glm-4v-flash", 8 * K, 4 * K, vision=True, max_images=1, accepts_base64_images=False),
    )
}

IMAGE_MODELS = frozenset({"cogview-4", "cogview-4-250304", "cogview-3-flash"})

# The manual's requests per minute per API key and model (glm.catalog).
RPM_LIMITS = MANUAL_RPM

TIERS = ("off", "free", "paid")


def rpm_limit(model: str, tier: str) -> int | None:
    """The RPM allowed for a model on a tier, or None when the tier imposes no limit."""
    if tier == "off" or model not in RPM_LIMITS:
        return None
    free, paid = RPM_LIMITS[model]
    return free if tier == "free" else paid

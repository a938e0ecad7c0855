"""The face models Tavus documents, and what each one does differently (shared/reference/tavus-api.md)."""

from __future__ import annotations

PHOENIX_4_5 = "phoenix-4.5"
PHOENIX_4 = "phoenix-4"
PHOENIX_3 = "phoenix-3"
# Newest first: the order a person reads them in an error message.
DOCUMENTED_MODELS = (PHOENIX_4_5, PHOENIX_4, PHOENIX_3)
# What Tavus trains with when a create names no model.
DEFAULT_MODEL = PHOENIX_4
# Models that answer `completed` for a watermarked zero-shot preview and then tune for hours.
_PREVIEW_MODELS = frozenset({PHOENIX_4_5})
# Models that cannot be trained from a photo at all.
_NO_IMAGE_TRAINING = frozenset({PHOENIX_3})


def normalise_model(name: str | None) -> str | None:
    """A model name as Tavus spells them (lower case, no surrounding space); None for nothing."""
    text = (name or "").strip().lower()
    return text or None


def is_documented(name: str | None) -> bool:
    return normalise_model(name) in DOCUMENTED_MODELS


def has_preview_stage(name: str | None) -> bool:
    """Whether `completed` means "preview usable, tuning still running" rather than "done"."""
    return normalise_model(name) in _PREVIEW_MODELS


def trains_from_image(name: str | None) -> bool:
    return normalise_model(name) not in _NO_IMAGE_TRAINING


def model_for(requested: str | None, configured: str | None) -> str:
    """The model a face will be trained with: the request's own choice, else the deployment's
    (TAVUS_MODEL_NAME), else the one Tavus uses when none is named."""
    return normalise_model(requested) or normalise_model(configured) or DEFAULT_MODEL

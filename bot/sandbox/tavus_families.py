"""The two path families the Tavus emulator speaks: `/v2/faces` (the current names) and the legacy
`/v2/replicas` aliases. Each answers in its own names; the state behind them is the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FamilyName = Literal["faces", "replicas"]
# The in-progress value of `finetune_status` is not documented; one third-party log shows this word.
FINETUNE_IN_PROGRESS = "training"
PREVIEW_MODELS = frozenset({"phoenix-4.5"})
NO_IMAGE_TRAINING = frozenset({"phoenix-3"})


@dataclass(frozen=True)
class Family:
    name: FamilyName
    prefix: str
    id_field: str
    name_field: str
    not_found: str
    # Fields this family documents as deprecated: accepted, and not acted on.
    ignored: tuple[str, ...] = ()

    def rename(self, view: dict[str, Any]) -> dict[str, Any]:
        """A face in this family's names (the emulator keeps them as replica_id/replica_name)."""
        if self.name == "replicas":
            return view
        renamed = dict(view)
        renamed[self.id_field] = renamed.pop("replica_id")
        renamed[self.name_field] = renamed.pop("replica_name")
        if "replica_type" in renamed:
            renamed["face_type"] = renamed.pop("replica_type")
        renamed.setdefault("default_voice_id", None)
        return renamed

    def callback(self, face_id: str, status: str, **extra: Any) -> dict[str, Any]:
        """A callback in this family's shape. The replica callback is documented (`ready` for done); the
        face callback is not, so the faces shape mirrors Get Face (`completed`, `finetune_status`)."""
        if self.name == "replicas":
            word = "ready" if status == "completed" else status
            body: dict[str, Any] = {"replica_id": face_id, "status": word}
            if "error_message" in extra:
                body["error_message"] = extra["error_message"]
            return body
        return {"face_id": face_id, "status": status, **extra}


FACES = Family(
    "faces", "/v2/faces", "face_id", "face_name", "Face not found", ignored=("consent_video_url",)
)
REPLICAS = Family("replicas", "/v2/replicas", "replica_id", "replica_name", "Replica not found")
FAMILIES = {family.name: family for family in (FACES, REPLICAS)}

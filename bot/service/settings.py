"""Settings from the environment (and `.env` for local runs).

Every deployment knob lives here so a misconfiguration stops the program at start with one line that
names the variable, instead of failing later inside a Slack listener.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

STOCK_VOICES: tuple[str, ...] = ("anna", "benjamin", "ivy", "james", "julia", "liam")


class SettingsError(Exception):
    """A setting is missing or malformed; `str()` is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")

    tavus_api_key: SecretStr | None = None
    tavus_api_url: AnyHttpUrl = AnyHttpUrl("https://tavusapi.com")
    tavus_docs_url: AnyHttpUrl = AnyHttpUrl("https://docs.tavus.io")
    tavus_model_name: str | None = None

    database_url: str = "sqlite:///./replica_bot.db"
    public_base_url: AnyHttpUrl | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)

    poll_interval_seconds: float = Field(default=60, gt=0)
    outbox_interval_seconds: float = Field(default=2, gt=0)
    allow_private_urls: bool = False
    default_voice: str | None = None
    # Annotated with NoDecode so "anna,liam" is read as text, not JSON.
    voices: Annotated[tuple[str, ...], NoDecode] = STOCK_VOICES
    max_image_bytes: int = Field(default=10 * 1024 * 1024, gt=0)

    # Where uploaded photos live while Tavus downloads them (it needs the URL valid for 24 h or more).
    media_backend: Literal["builtin", "s3"] = "builtin"
    media_url_ttl_hours: float = Field(default=48, gt=0)
    media_retention_hours: float = Field(default=72, ge=0)
    s3_bucket: str | None = None
    s3_endpoint_url: AnyHttpUrl | None = None
    s3_region: str | None = None

    # The offline photo check before submitting: findings are shown with "Submit anyway" (advisory),
    # refused (strict), or not looked for (off). Faces are checked when `replica-bot[faces]` is installed.
    preflight_faces: Literal["off", "advisory", "strict"] = "advisory"
    # Tavus' own image check (POST /v2/faces/image-validation) before an image is submitted: `on` or
    # `off`. When it is slow or down, requests go on with the offline check alone after this long.
    tavus_image_validation: bool = True
    tavus_image_validation_timeout_seconds: float = Field(default=5, gt=0)

    # Access and consent (comma-separated Slack ids; an empty allow-list means everywhere).
    allowed_channel_ids: Annotated[tuple[str, ...], NoDecode] = ()
    admin_user_ids: Annotated[tuple[str, ...], NoDecode] = ()
    require_consent_confirmation: bool = True

    # Whose face it is: `named` asks a colleague named as the face in a DM before anything reaches Tavus;
    # `off` keeps the requester's single affirmation. Faces of people outside the workspace (or
    # synthetic ones): `allow`, `approve` (an approver decides) or `deny`.
    likeness_consent: Literal["named", "off"] = "named"
    likeness_outside: Literal["allow", "approve", "deny"] = "approve"
    consent_expires_hours: float = Field(default=72, gt=0)
    # Approvals before a training run is spent: `off`, `required` (every request), or `over-quota`
    # (requests beyond QUOTA_PER_USER_PER_MONTH). APPROVERS: user ids (U…) and user groups (S…); the
    # admins when empty. APPROVAL_CHANNEL: one post there instead of a DM to each approver.
    approval: Literal["off", "required", "over-quota"] = "off"
    approvers: Annotated[tuple[str, ...], NoDecode] = ()
    approval_channel: str | None = None
    quota_per_user_per_month: int | None = Field(default=None, ge=0)
    approval_expires_hours: float = Field(default=72, gt=0)
    delete_grace_minutes: float = Field(default=60, ge=0)
    stuck_after_hours: float = Field(default=6, gt=0)
    # A request left in "submitting" this long (a crash between Tavus and our commit) is reconciled, and
    # one left "received" (acked, never checked) is checked and submitted.
    # Longer than the Tavus client's worst case with retries, so a slow create is never mistaken for a crash.
    reconcile_after_seconds: float = Field(default=300, gt=0)

    # --- running it (README.md#operating-it) ------------------------------------------------------------
    # A second listener for /metrics, /healthz and /readyz (Socket Mode has no other); unset: none.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # On SIGTERM or SIGINT: stop taking work, finish the call in progress, hand every lease over, and
    # exit 0 within this many seconds.
    shutdown_grace_seconds: float = Field(default=10, gt=0)
    # `text` for people, `json` (one object a line) for log collectors.
    log_format: Literal["text", "json"] = "text"

    @field_validator("voices", mode="before")
    @classmethod
    def _split_voices(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip().lower() for v in value.split(",") if v.strip())
        return value

    @field_validator("allowed_channel_ids", "admin_user_ids", "approvers", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("approvers")
    @classmethod
    def _users_or_groups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not re.fullmatch(r"[UWS][A-Z0-9]{2,}", entry):
                raise ValueError(f"{entry!r} is not a user id (U…) or a user group id (S…)")
        return value

    @field_validator("approval_channel", "quota_per_user_per_month", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_port_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("default_voice", "tavus_model_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql+psycopg:", "postgresql:")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        # SQLAlchemy would pick psycopg2 for a bare postgresql:// URL; we ship psycopg 3.
        return value.replace("postgresql://", "postgresql+psycopg://", 1)

    def secret(self, name: str) -> str:
        """The value of a required secret, or a SettingsError naming the variable."""
        value: SecretStr | None = getattr(self, name)
        if value is None or not value.get_secret_value().strip():
            raise SettingsError(f"{name.upper()} is not set; see README.md#configuration")
        return value.get_secret_value()

    def secrets(self) -> list[str]:
        """Every configured secret value, so logs can be scrubbed of them."""
        fields = ("slack_bot_token", "slack_signing_secret", "slack_app_token", "tavus_api_key")
        values = (getattr(self, f) for f in fields)
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    # --- the Slack experience ------------------------------------------------------------------------
    # DM the requester a link to the thread when their replica fails or is ready.
    notify_requester_dm: bool = True
    # Short descriptions of the voices, shown in `/replica voices` and the form's voice picker. Either
    # `anna=Warm and calm; liam=Bright` (";" or newlines between voices) or a JSON object; voices not
    # listed keep their built-in description.
    voice_descriptions: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @field_validator("voice_descriptions", mode="before")
    @classmethod
    def _parse_voice_descriptions(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not valid JSON: {exc}") from None
            if not isinstance(parsed, dict):
                raise ValueError("must be a JSON object of voice: description")
            return {str(k).strip().lower(): str(v).strip() for k, v in parsed.items()}
        described: dict[str, str] = {}
        for item in re.split(r"[;\n]", text):
            if not item.strip():
                continue
            voice, sep, description = item.partition("=")
            if not sep or not voice.strip() or not description.strip():
                raise ValueError(f"expected voice=description, got {item.strip()!r}")
            described[voice.strip().lower()] = description.strip()
        return described

    # --- trying a finished face: a sample video, a short test call, from its thread ---------------------
    # Who may: the face's requester and admins (`requester`), anyone in its channel (`everyone`), nobody
    # (`off`: no buttons). Admins are not held to the per-face limits.
    try_face: Literal["requester", "everyone", "off"] = "requester"
    # A sample video's script, in characters (Slack's text inputs take at most 3,000).
    sample_script_max_chars: int = Field(default=400, ge=1, le=3000)
    sample_videos_per_face: int = Field(default=3, ge=0)
    # A test call's longest length (Tavus' max_call_duration allows at most an hour).
    test_call_seconds: int = Field(default=120, ge=10, le=3600)
    test_calls_per_face: int = Field(default=5, ge=0)

    @field_validator("try_face", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    # --- batches: many requests at once (README.md#batches) ---------------------------------------------
    # The most rows a batch's CSV may have (and 1 MB).
    batch_max_rows: int = Field(default=500, ge=1, le=5000)
    # Rows one process checks (and then submits) at once; each check may ask Tavus' image check.
    batch_concurrency: int = Field(default=8, ge=1, le=64)

    # --- polling Tavus (the figures behind the defaults are in docs/benchmarks.md) --------------------
    # Replicas polled at once by one process (Tavus answers in tens to hundreds of milliseconds).
    poll_concurrency: int = Field(default=32, ge=1, le=256)
    # Image problems surface in the first minutes: poll every POLL_EARLY_INTERVAL_SECONDS (never less
    # often than POLL_INTERVAL_SECONDS) for POLL_EARLY_WINDOW_SECONDS after submitting. Later, the
    # spacing grows with the request's age (5 % of it), from POLL_INTERVAL_SECONDS up to
    # POLL_MAX_INTERVAL_SECONDS (set it to POLL_INTERVAL_SECONDS for a fixed spacing). A Tavus callback
    # still triggers a poll at once.
    poll_early_interval_seconds: float = Field(default=10, gt=0)
    poll_early_window_seconds: float = Field(default=300, ge=0)
    poll_max_interval_seconds: float = Field(default=300, gt=0)

    # --- Slack's rate limits (README.md#limits) ---------------------------------------------------------
    # How the app is distributed: `internal` (customer-built) and `marketplace` keep Tier 3 reads;
    # `commercial` (distributed outside the Marketplace) gets 1 conversations.history/replies call a
    # minute, 15 objects each.
    slack_distribution: Literal["internal", "marketplace", "commercial"] = "internal"
    # Per-method overrides of the documented tiers: `chat.update=50,views.publish=100/10` (calls a minute
    # per workspace, optional "/burst"); `chat.postMessage` is per channel, `chat.postMessage.workspace`
    # the workspace-wide posting ceiling.
    slack_rate_limits: Annotated[dict[str, tuple[float, int]], NoDecode] = Field(default_factory=dict)

    @field_validator("slack_rate_limits", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        rates: dict[str, tuple[float, int]] = {}
        for item in value.replace(";", ",").split(","):
            if not item.strip():
                continue
            method, sep, rate = item.partition("=")
            per_minute, _, burst = rate.partition("/")
            try:
                parsed = (float(per_minute), int(burst) if burst.strip() else 1)
            except ValueError:
                parsed = (0.0, 0)
            if not sep or not method.strip() or parsed[0] <= 0 or parsed[1] < 1:
                raise ValueError(f"expected method=calls_per_minute[/burst], got {item.strip()!r}")
            rates[method.strip()] = parsed
        return rates


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's multi-line report into one line per the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise SettingsError(f"{name} is invalid: {first['msg']}") from None

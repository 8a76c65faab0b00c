"""The one typed settings object of community-assistant, read from a TOML file and the environment.

Precedence: explicit arguments > environment (`CA_*`, nested with `__`) > TOML file (`CA_CONFIG`) > defaults.
Longer than 400 lines because every section of the settings lives here, so that each setting has one home.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.domain.business_hours import BusinessHoursConfig

SUPPORTED_LANGUAGES = ("en", "zh", "ru", "fr", "pl")
DEFAULT_CONFIG_FILE = "community-assistant.toml"


class BrandConfig(BaseModel):
    """Values that fill the placeholders of KB answers and reply templates."""

    name: str = "Northpine"
    support_email: str = "support@northpine.example"
    help_center_url: str = "https://help.northpine.example"
    community_url: str = "https://community.northpine.example"
    order_tracking_url: str = "https://northpine.example/orders"


class PolicyConfig(BaseModel):
    """How the engine trades coverage for safety."""

    target_precision: float = Field(0.95, gt=0.5, le=1.0)
    # The share of messages with no answer in the KB that the threshold is calibrated for: out-of-scope evidence
    # is weighted to this share, so the target precision holds on such traffic. Raise it where most messages are
    # off-topic (precision holds there, fewer questions are answered); `assistant eval --only heldout` draws the curve.
    out_of_scope_share: float = Field(0.2, ge=0.0, lt=1.0)
    # Used only until `assistant train` has calibrated a threshold from held-out data.
    fallback_threshold: float = Field(0.9, ge=0.0, le=1.0)
    answer_in_business_hours: bool = True
    ask_to_rephrase_once: bool = True
    negative_sentiment_threshold: float = Field(0.7, ge=0.0, le=1.0)
    # A message the KB answers confidently is escalated for its tone only above this (problem reports read negative).
    negative_with_answer_threshold: float = Field(0.9, ge=0.0, le=1.0)
    abuse_threshold: float = Field(0.8, ge=0.0, le=1.0)
    spam_threshold: float = Field(0.8, ge=0.0, le=1.0)
    max_message_chars: int = Field(4000, gt=0)
    # Ask before escalating (assistant/domain/clarification.py): below the answer threshold, the prediction's top KB
    # entries each at or above `choice_min_probability` (at most `max_choices` of them, at least two) that
    # together reach `choices_min_probability` are offered as "Did you mean: …" choices, plus "talk to a person";
    # once per question, in and out of business hours alike.
    offer_choices: bool = True
    max_choices: int = Field(3, ge=2, le=9)
    choice_min_probability: float = Field(0.1, ge=0.0, le=1.0)
    choices_min_probability: float = Field(0.5, ge=0.0, le=1.0)
    # Follow-ups (assistant/domain/followup.py): a message of at most this many words, within this many minutes of the
    # previous question, is also read together with that question.
    followup_max_words: int = Field(5, ge=0)
    followup_window_minutes: float = Field(30.0, ge=0.0)
    default_queue: str = "support"
    complaint_queue: str = "complaints"
    urgent_queue: str = "urgent"
    moderation_queue: str = "moderation"


class ModelConfig(BaseModel):
    """Embedding and classifier knobs."""

    encoder_threads: int = Field(2, ge=1)
    # FAISS searches a few thousand vectors in microseconds; its OpenMP pool only competes with the encoder.
    faiss_threads: int = Field(1, ge=1)
    batch_size: int = Field(64, ge=1)
    calibration_folds: int = Field(5, ge=2)
    holdout_share: float = Field(0.2, gt=0.0, lt=0.5)
    random_seed: int = 13
    # The FAQ/intent matcher: "logistic" regression (most accurate, retrained when examples change), "neighbours"
    # (k nearest phrasings in FAISS: new phrasings are live without training), or "auto": neighbours from
    # `neighbours_from_classes` classes on, where retraining logistic regression takes minutes.
    matcher: Literal["auto", "logistic", "neighbours"] = "auto"
    neighbours_from_classes: int = Field(500, ge=2)
    # A neighbours model keeps its calibration while the example count moves less than this share; past it, the
    # publish is followed by a recalibrated build in the background.
    recalibrate_share: float = Field(0.1, gt=0.0)
    # Out-of-fold predictions for at most this many examples (all of them still train): calibration evidence
    # enough, and it keeps a 10,000-entry KB's calibration to seconds.
    calibration_rows: int = Field(15_000, ge=100)


class PlatformConfig(BaseModel):
    """One platform's endpoint and secrets; each adapter reads only the fields its platform uses."""

    enabled: bool = False
    api_base_url: str = ""
    app_secret: str | None = None  # Meta: X-Hub-Signature-256 key
    verify_token: str | None = None  # Meta: GET hub.verify_token
    access_token: str | None = None  # Meta page / WhatsApp token
    phone_number_id: str | None = None  # WhatsApp Cloud API sender
    signing_secret: str | None = None  # Slack: v0 signatures
    bot_token: str | None = None  # Slack, Telegram, Discord
    secret_token: str | None = None  # Telegram: X-Telegram-Bot-Api-Secret-Token
    public_key: str | None = None  # Discord: Ed25519 verify key, hex
    application_id: str | None = None  # Discord
    consumer_secret: str | None = None  # X: CRC and x-twitter-webhooks-signature
    webhook_secret: str | None = None  # Standard Webhooks: whsec_… base64 key
    own_ids: list[str] = []  # our page / bot / account ids: their messages are echoes
    # Discord Gateway (`assistant discord-gateway`): channels whose every message is for us (else a mention or a
    # DM is needed), and whether DMs to the bot are taken.
    gateway_channel_ids: list[str] = []
    gateway_direct_messages: bool = True
    signature_tolerance_seconds: int = Field(300, gt=0)
    requests_per_second: float = Field(20.0, gt=0)  # outbound, per platform
    per_chat_per_second: float = Field(1.0, gt=0)  # outbound, per conversation


DEFAULT_API_BASE_URLS = {
    "messenger": "https://graph.facebook.com/v23.0",
    "instagram": "https://graph.facebook.com/v23.0",
    "whatsapp": "https://graph.facebook.com/v23.0",
    "slack": "https://slack.com/api",
    "telegram": "https://api.telegram.org",
    "discord": "https://discord.com/api/v10",
    "x": "https://api.x.com/2",
    "generic": "",
}


def default_platforms() -> dict[str, PlatformConfig]:
    return {name: PlatformConfig(api_base_url=url) for name, url in DEFAULT_API_BASE_URLS.items()}


class ServiceConfig(BaseModel):
    """The runtime: where Redis and the database are, and the limits of the webhook edge."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = "sqlite:///.data/community-assistant.db"
    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = Field(1_000_000, gt=0)
    # How long the lock on a conversation being decided lives: a worker killed while holding it blocks that
    # conversation this long at most. Deciding takes milliseconds; the engine is loaded before the lock is taken.
    conversation_lock_seconds: int = Field(15, gt=0)
    # How long a task waits for that lock before it retries later (and frees its worker for other conversations).
    conversation_lock_wait_seconds: float = Field(5.0, gt=0)
    send_timeout_seconds: float = Field(10.0, gt=0)
    send_max_retries: int = Field(5, ge=0)
    helpdesk_url: str | None = None  # POST escalations here as signed webhooks (Zendesk/Freshdesk-style)
    helpdesk_secret: str | None = None
    sla_first_response_minutes: dict[str, int] = {"urgent": 30, "high": 60, "normal": 240, "low": 1440}


class ReliabilityConfig(BaseModel):
    """What keeps an acknowledged message from being lost: the edge's text limit, the durable inbox's and outbox's
    sweepers (run by Celery beat) and the limits of a task (README, "Production")."""

    # A longer inbound text is stored cut here, with the length received kept on the message.
    max_text_chars: int = Field(20_000, ge=100)
    # A stored event not decided this long after it was due is queued again by the inbox sweeper.
    inbox_grace_seconds: float = Field(60.0, gt=0)
    # Queueings (the webhook's, then each sweep's) before an event that never got decided goes to a person as
    # `processing_failed`: a message that kills its worker every time must not loop for ever.
    inbox_max_attempts: int = Field(4, ge=1)
    # A reply left pending or failed this long past its due time is queued again by the outbox sweeper.
    outbox_grace_seconds: float = Field(60.0, gt=0)
    # A bot's reply not out this long after it was decided goes to a person instead.
    outbox_deadline_seconds: float = Field(3600.0, gt=0)
    sweep_interval_seconds: float = Field(15.0, gt=0)
    sweep_batch: int = Field(500, ge=1)
    # A delivery with more events than this is stored, then queued by one task in the background, so the webhook
    # answers within the platform's deadline (Meta batches up to thousands).
    direct_enqueue_max: int = Field(20, ge=1)
    # Celery retries of a failing decision before it goes to a person (backoff 2, 4, 8, … s).
    process_max_retries: int = Field(5, ge=0)
    # Per task (prefork pool): a soft limit raises inside the task, the hard one kills the process; the broker
    # redelivers a task that was never acknowledged after `celery_visibility_timeout`.
    task_soft_time_limit_seconds: int = Field(120, gt=0)
    task_time_limit_seconds: int = Field(180, gt=0)


QUEUE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class QueueRule(BaseModel):
    """One routing rule: every field given must match (empty lists match anything); the first rule that
    matches in the queue list wins. Values are compared lower-cased."""

    model_config = ConfigDict(extra="forbid")

    platforms: list[str] = []
    languages: list[str] = []
    # The engine's intent, the KB entry id or any of the entry's tags.
    intents: list[str] = []
    # Escalation reasons (human_requested, complaint, negative_sentiment, risky_topic, low_confidence,
    # out_of_scope, in_hours_policy, feedback, delivery_failed, abuse, spam) or "moderation" for abuse and spam.
    reasons: list[str] = []
    # The queue the engine itself picked (policy.*_queue), so existing policy routing can be kept or refined.
    engine_queues: list[str] = []


class QueueConfig(BaseModel):
    """A named human queue and the rules that send escalations to it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=QUEUE_NAME_PATTERN)
    title: str = ""
    rules: list[QueueRule] = []

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ").replace("-", " ").capitalize()


def default_queues() -> list[QueueConfig]:
    # Mirrors the engine's own queues (PolicyConfig), so a fresh install routes exactly as before.
    return [
        QueueConfig(name="urgent", title="Urgent", rules=[QueueRule(reasons=["risky_topic"])]),
        QueueConfig(
            name="complaints", title="Complaints", rules=[QueueRule(reasons=["complaint", "negative_sentiment"])]
        ),
        QueueConfig(name="moderation", title="Moderation", rules=[QueueRule(reasons=["moderation"])]),
        QueueConfig(name="support", title="Support"),
    ]


class ConsoleConfig(BaseModel):
    """The agent console: queues and routing, automatic assignment, SLA timers and the limits of a reply."""

    queues: list[QueueConfig] = Field(default_factory=default_queues)
    # Where an escalation goes when no rule matches and the engine's queue is not a configured one.
    default_queue: str = "support"
    # manual: only claims; round_robin / least_busy: the beat hands unassigned escalations to online agents.
    assignment: Literal["manual", "round_robin", "least_busy"] = "least_busy"
    beat_interval_seconds: float = Field(10.0, gt=0)
    max_reply_chars: int = Field(2000, gt=0, le=20_000)
    max_note_chars: int = Field(10_000, gt=0)
    page_size: int = Field(50, ge=1, le=500)
    # How often open pages ask whether anything changed (a 204 when nothing did).
    poll_seconds: float = Field(1.0, gt=0)
    # Meta: offer a HUMAN_AGENT-tagged message when a reply is outside the 24-hour window (within 7 days).
    offer_human_agent_tag: bool = True
    # Presence: signing in makes a person online; with no request from their console for this long they are away
    # (automatic assignment skips them) until their console is used again.
    away_after_minutes: float = Field(15.0, gt=0)
    # The inbox: rows per page and the most search results listed.
    inbox_page_size: int = Field(50, ge=1, le=500)

    @model_validator(mode="after")
    def _consistent(self) -> ConsoleConfig:
        names = [queue.name for queue in self.queues]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"console.queues: duplicate queue names {duplicates}")
        if self.default_queue not in names:
            raise ValueError(f"console.default_queue {self.default_queue!r} is not one of the queues {names}")
        return self

    def queue(self, name: str) -> QueueConfig | None:
        return next((queue for queue in self.queues if queue.name == name), None)


class SecurityConfig(BaseModel):
    """Accounts and the console: the session key, session lifetime, password rules, login throttling."""

    # From CA_SECURITY__SECRET_KEY; when unset, generated once into <data_dir>/secret-key (mode 600).
    secret_key: str | None = None
    session_hours: int = Field(12, gt=0)  # idle lifetime: each request renews the session
    password_min_length: int = Field(10, ge=8)
    # Failed logins allowed per username and per client address within the window, then 429 until it passes.
    login_max_failures: int = Field(5, gt=0)
    login_max_failures_per_ip: int = Field(20, gt=0)
    login_window_minutes: int = Field(15, gt=0)
    # None: Secure cookies exactly when service.public_base_url is https.
    cookie_secure: bool | None = None


class LiveIndexConfig(BaseModel):
    """Issue 5: versioned index builds, hot swap in every worker, near-duplicate warnings, the content-gap report."""

    # Two phrasings of different entries at least this similar (cosine) are reported as near duplicates.
    near_duplicate_similarity: float = Field(0.92, gt=0, le=1)
    # How often a worker looks at <data_dir>/index/current (one small file read) to notice a new version.
    check_seconds: float = Field(1.0, ge=0)
    # Old version directories kept for rollback; the current one is never deleted.
    keep_versions: int = Field(5, ge=1)
    # Gap report: merge questions while the average cosine distance stays below this.
    gap_distance: float = Field(0.35, gt=0, lt=2)
    gap_window_days: int = Field(30, gt=0)
    gap_min_count: int = Field(1, ge=1)
    gap_examples: int = Field(5, ge=1)
    # An entry is "often wrong" with at least this many "wrong" verdicts making at least this share of its ratings.
    wrong_min: int = Field(2, ge=1)
    wrong_share: float = Field(0.3, gt=0, le=1)


class KbSyncConfig(BaseModel):
    """Issue 13: one source of truth for the KB. The editor's database is the live KB; the YAML folder is where a
    fresh install's KB comes from and where every publish is written back (round trip: a diff shows the change)."""

    # A database whose editor has never published gets the KB folder imported at first start (statuses kept).
    seed_from_yaml: bool = True
    # Write the entries whose live version changed back into their YAML files on publish, archive and rollback.
    write_back: bool = True
    # Where they are written: the KB folder (None), or another folder, e.g. a git checkout that a job commits.
    export_dir: Path | None = None


class Settings(BaseSettings):
    """Everything configurable; construct with `load_settings()`."""

    model_config = SettingsConfigDict(env_prefix="CA_", env_nested_delimiter="__", extra="forbid")

    kb_dir: Path = Path("knowledge_base")
    data_dir: Path = Path(".data")
    nlu_file: Path = Path("training/nlu.yml")
    responses_file: Path | None = None
    risky_topics_file: Path | None = None
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    default_language: str = "en"
    brand: BrandConfig = BrandConfig()
    business_hours: BusinessHoursConfig = BusinessHoursConfig()
    policy: PolicyConfig = PolicyConfig()
    models: ModelConfig = ModelConfig()
    service: ServiceConfig = ServiceConfig()
    reliability: ReliabilityConfig = ReliabilityConfig()
    security: SecurityConfig = SecurityConfig()
    console: ConsoleConfig = ConsoleConfig()
    live_index: LiveIndexConfig = LiveIndexConfig()
    kb_sync: KbSyncConfig = KbSyncConfig()
    platforms: dict[str, PlatformConfig] = Field(default_factory=default_platforms)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Seconds Redis waits for a worker to acknowledge a task (tasks are acknowledged late) before it hands the task
    # to another worker: a worker killed mid-task has its task redelivered after this long. Longer than any retry's
    # countdown (at most 300 s) and the hard task time limit, or a task waiting for its countdown would be handed
    # out twice; the inbox and outbox sweepers recover a lost task sooner than this.
    celery_visibility_timeout: int = Field(600, gt=0)

    @field_validator("platforms")
    @classmethod
    def _platform_defaults(cls, value: dict[str, PlatformConfig]) -> dict[str, PlatformConfig]:
        # A TOML that configures one platform must not drop the defaults of the others.
        merged = default_platforms()
        for name, config in value.items():
            if not config.api_base_url and name in DEFAULT_API_BASE_URLS:
                config = config.model_copy(update={"api_base_url": DEFAULT_API_BASE_URLS[name]})
            merged[name] = config
        return merged

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(SUPPORTED_LANGUAGES))
        if unknown:
            raise ValueError(f"unsupported languages {unknown}; supported: {list(SUPPORTED_LANGUAGES)}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("CA_CONFIG", DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name, not the key


def session_secret(settings: Settings) -> str:
    """The key that signs console sessions and CSRF tokens: configured, or generated once and kept on disk
    (mode 600) so sessions survive restarts and every worker process of one installation agrees on it."""
    if settings.security.secret_key:
        return settings.security.secret_key
    path = settings.data_dir / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            # A hard link appears whole or not at all: two processes starting at once agree on the first key.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it or set CA_SECURITY__SECRET_KEY")
    return key


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, TOML and environment, with `overrides` (e.g. CLI flags) on top."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})

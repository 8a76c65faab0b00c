"""The one typed settings object of community-assistant, read from a TOML file and the environment.

Precedence: explicit arguments > environment (`CA_*`, nested with `__`) > TOML file (`CA_CONFIG`) > defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.business_hours import BusinessHoursConfig

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
    # Used only until `assistant train` has calibrated a threshold from held-out data.
    fallback_threshold: float = Field(0.9, ge=0.0, le=1.0)
    answer_in_business_hours: bool = True
    ask_to_rephrase_once: bool = True
    negative_sentiment_threshold: float = Field(0.7, ge=0.0, le=1.0)
    abuse_threshold: float = Field(0.8, ge=0.0, le=1.0)
    spam_threshold: float = Field(0.8, ge=0.0, le=1.0)
    max_message_chars: int = Field(4000, gt=0)
    default_queue: str = "support"
    complaint_queue: str = "complaints"
    urgent_queue: str = "urgent"


class ModelConfig(BaseModel):
    """Embedding and classifier knobs."""

    encoder_threads: int = Field(2, ge=1)
    batch_size: int = Field(64, ge=1)
    calibration_folds: int = Field(5, ge=2)
    holdout_share: float = Field(0.2, gt=0.0, lt=0.5)
    random_seed: int = 13


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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

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


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, TOML and environment, with `overrides` (e.g. CLI flags) on top."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})

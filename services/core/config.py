"""Settings, read from the environment with the ``LIANDONG_`` prefix (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Every knob of the three processes. Unsafe defaults are refused outside ``env=dev``."""

    model_config = SettingsConfigDict(env_prefix="LIANDONG_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "prod"
    # DATABASE_URL (plain, as most platforms set it) or LIANDONG_DATABASE_URL. Unset: embedded Postgres.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LIANDONG_DATABASE_URL", "DATABASE_URL")
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    # Check pooled connections before use: one round trip per request, saved when off.
    db_pre_ping: bool = True
    data_dir: Path = Path(".data")

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    escalator_port: int = Field(default=8001, ge=1, le=65535)
    notifier_port: int = Field(default=8002, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with the request id

    jwt_secret: str = PLACEHOLDER_SECRET
    access_token_minutes: int = Field(default=480, ge=1)
    district_secret: str = PLACEHOLDER_SECRET
    # How far the X-Liandong-Timestamp of a district event may be from our clock.
    district_replay_window_seconds: int = Field(default=300, ge=1)
    # A district case carrying a known community_code is dispatched to it at once.
    auto_dispatch_district_cases: bool = True
    # Acceptance later than this after dispatch is an acceptance timeout (接单超时), SPEC §3.
    acceptance_timeout_minutes: int = Field(default=10, ge=1)

    # The assessment's and the materials score's numbers, as JSON objects over the regulation's defaults,
    # e.g. {"rollup": "min", "unassigned_full": false} (see docs/decisions.md for every field).
    assessment_config: str | None = None
    materials_config: str | None = None
    # Login throttling: failures within the window that lock an account, or an address, out.
    login_window_minutes: int = Field(default=15, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    # The largest request body the api reads (JSON, the webhook); uploads may take their files' size.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Active cases (主动案件): photo limits, the duplicate hint, the handling time of valid cases.
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Where photos go: "local" (under data_dir/files) or "s3" (any S3-compatible store, path-style).
    file_store: Literal["local", "s3"] = "local"
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = "liandong/"
    upload_max_files: int = Field(default=9, ge=1, le=50)
    duplicate_window_hours: float = Field(default=24, gt=0)
    duplicate_radius_m: float = Field(default=50, gt=0)
    active_case_handling_hours: float = Field(default=72, gt=0)
    # Batches the escalator fires side by side while a backlog lasts (a burst, a restart after downtime).
    escalator_lanes: int = Field(default=4, ge=1, le=8)  # each lane holds a connection of the worker's pool
    # Where reminders go: "log" writes them to the log (development, demos); "live" sends them.
    notifier_mode: Literal["log", "live"] = "log"
    # Messages of one batch in flight at once (each waits on its vendor, not on the others).
    notifier_concurrency: int = Field(default=8, ge=1, le=256)
    # How long a claimed message is held before another notifier may take it (its holder died).
    notifier_lease_seconds: int = Field(default=60, ge=1, le=3600)
    wecom_robot_base_url: str = "https://qyapi.weixin.qq.com"
    # Alibaba Cloud SMS (SendSms) and voice (SingleCallByTts); unset: those channels go to the log.
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: str | None = None
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    aliyun_voice_endpoint: str = "https://dyvmsapi.aliyuncs.com/"
    sms_sign_name: str | None = None
    sms_template_code: str | None = None
    voice_tts_code: str | None = None
    voice_show_number: str | None = None
    # WeCom application messages to each person (corp id, the app's secret and agent id).
    wecom_corp_id: str | None = None
    wecom_app_secret: str | None = None
    wecom_agent_id: int | None = None
    wecom_api_base_url: str = "https://qyapi.weixin.qq.com"
    # The street's DingTalk / Feishu group robots, for streets that use them (token, signing secret).
    dingtalk_base_url: str = "https://oapi.dingtalk.com"
    dingtalk_robot_token: str | None = None
    dingtalk_robot_secret: str | None = None
    feishu_base_url: str = "https://open.feishu.cn"
    feishu_robot_token: str | None = None
    feishu_robot_secret: str | None = None
    # The district platform's API for the street's calls (签收, 回复); signed with district_secret.
    # Unset: those calls go to the log.
    district_api_url: str | None = None

    @model_validator(mode="after")
    def _configs_parse(self) -> Settings:
        from services.core.assessment.config import assessment_config, materials_config

        assessment_config(self)  # a bad field fails at start, not at the end of a quarter
        materials_config(self)
        return self

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.file_store == "s3":
            missing = [f"LIANDONG_{n.upper()}" for n in ("s3_endpoint", "s3_bucket", "s3_access_key_id",
                                                         "s3_secret_access_key") if not getattr(self, n)]
            if missing:
                raise ValueError(f"LIANDONG_FILE_STORE=s3 needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "dev":
            return self
        for name in ("jwt_secret", "district_secret"):
            value: str = getattr(self, name)
            if value == PLACEHOLDER_SECRET or len(value) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"LIANDONG_{name.upper()} must be set to a secret of at least "
                    f"{MIN_SECRET_LENGTH} characters unless LIANDONG_ENV=dev"
                )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()

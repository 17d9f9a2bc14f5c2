"""Settings from the environment (prefix `PROLO_`), read once and passed in; never at import time."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.store.admission import WAIT_SECONDS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROLO_", env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///prolo.db", description="SQLAlchemy URL")
    clinic_timezone: str = Field(default="UTC", description="Used when the clinic row is first made")
    clinic_name: str = "Prolo clinic"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str = "reminders@localhost"
    sms_webhook_url: str | None = None
    sms_webhook_secret: str | None = None
    api_key_cache_seconds: float = Field(
        default=10.0, description="How long a checked key is trusted in memory; revocation takes this long"
    )
    db_pool_size: int = Field(
        default=10, ge=1, le=200, description="Requests using the database at once; the pool keeps as many again"
    )
    db_wait_seconds: float = Field(
        default=WAIT_SECONDS, gt=0, le=600, description="How long a request may wait for the database in all; then 503"
    )
    public_url: str | None = Field(
        default=None,
        description="Where calendar apps reach Prolo (e.g. https://prolo.example.org), for secret feed URLs;"
        " default: the address the request came to",
    )
    link_secret: str | None = Field(
        default=None,
        min_length=32,
        description="The secret patient links are derived from (R23), at least 32 characters; unset: one Prolo makes"
        " at its first start and keeps in the database. Changing it ends every link",
    )
    docs_persist_authorization: bool = Field(
        default=False,
        description="Swagger UI keeps the API key given to Authorize across reloads, in the browser's local storage;"
        " off by default: front-desk browsers are shared",
    )
    dispatch_lease_seconds: float = Field(
        default=300.0, gt=0, description="How long a dispatcher holds what it claimed before another may take it"
    )
    inbound_sms_provider: Literal["prolo", "twilio"] | None = Field(
        default=None, description="Who posts patients' SMS replies to POST /v1/inbound/sms; unset: no such endpoint"
    )
    inbound_sms_url: str | None = Field(
        default=None,
        description="The inbound URL exactly as configured at Twilio, which signs it (never the request's own URL)",
    )
    twilio_auth_token: str | None = Field(default=None, description="Twilio's auth token: the key of its signature")
    sms_keyword_replies: Literal["provider", "prolo"] | None = Field(
        default=None,
        description="Who confirms STOP and START to the patient: `prolo` (an sms_reply) or the `provider`'s"
        " carriers; default `prolo` for the prolo provider, `provider` for twilio",
    )

    @property
    def prolo_answers_keywords(self) -> bool:
        """R33: Prolo itself texts the one confirmation of an opt-out or opt-in."""
        if self.sms_keyword_replies is not None:
            return self.sms_keyword_replies == "prolo"
        return self.inbound_sms_provider == "prolo"


@lru_cache
def get_settings() -> Settings:
    return Settings()

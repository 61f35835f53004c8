"""The worker's settings, and which SMTP failures are worth a retry."""

from __future__ import annotations

import smtplib

import pytest

from {{ cookiecutter.project_slug }}.config import ConfigError, Settings
from {{ cookiecutter.project_slug }}.mail import is_permanent


def test_the_defaults() -> None:
    settings = Settings()
    assert settings.broker_url == "redis://localhost:6379/0"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_timeout) == ("localhost", 25, 10)
    assert settings.smtp_starttls is False
    assert settings.mail_from == "noreply@localhost"
    assert settings.outbox_drain_seconds == 30


@pytest.mark.parametrize(
    "url", ["amqp://guest:guest@localhost:5672//", "rediss://cache:6380/1", "redis://:pw@h/2"]
)
def test_redis_and_rabbitmq_brokers_are_accepted(url: str) -> None:
    assert Settings.load({"BROKER_URL": url}).broker_url == url


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BROKER_URL", "localhost:6379", "BROKER_URL: expected a URL like redis://"),
        ("BROKER_URL", "kafka://broker:9092", "BROKER_URL: expected a URL like redis://"),
        ("SMTP_PORT", "0", "SMTP_PORT: "),
        ("SMTP_PORT", "smtp", "SMTP_PORT: "),
        ("SMTP_TIMEOUT", "-1", "SMTP_TIMEOUT: "),
        ("SMTP_STARTTLS", "perhaps", "SMTP_STARTTLS: "),
        ("MAIL_FROM", "nobody", "MAIL_FROM: expected an address"),
        ("OUTBOX_DRAIN_SECONDS", "0", "OUTBOX_DRAIN_SECONDS: "),
    ],
)
def test_a_bad_value_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        Settings.load()
    message = str(refused.value)
    assert message.startswith(f"Invalid settings: {says}")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPDataError(451, b"try again later"), False),
        (smtplib.SMTPDataError(554, b"rejected"), True),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "a@b"), True),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b": (450, b"busy"), "c@d": (550, b"no")}), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(111, "refused"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_only_a_5xx_refusal_is_permanent(error: OSError, permanent: bool) -> None:
    assert is_permanent(error) is permanent

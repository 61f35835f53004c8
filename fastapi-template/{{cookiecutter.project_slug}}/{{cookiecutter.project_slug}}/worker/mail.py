"""The welcome email, and sending a message over SMTP (smtplib, blocking)."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.db.models import OutboxMessage


def message_id(row: OutboxMessage, settings: Settings) -> str:
    """The same Message-ID on every attempt for one row: a receiving server or client that
    gets the message twice (sent, then the commit that records it failed) can tell."""
    domain = settings.mail_from.rsplit("@", 1)[-1].removesuffix(">")
    return f"<welcome-{row.id}.{int(row.created_at.timestamp())}@{domain}>"


def welcome_message(row: OutboxMessage, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.payload["email"]
    message["Subject"] = "Welcome to {{ cookiecutter.project_name }}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(row, settings)
    message.set_content(
        "Your account is ready: sign in with this email address and your password.\n"
    )
    return message


def send_message(message: EmailMessage, settings: Settings) -> None:
    """One SMTP conversation; every wait bounded by SMTP_TIMEOUT. Raises SMTPException or
    OSError (refused, timed out, a 4xx or 5xx answer) for the caller to retry."""
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)

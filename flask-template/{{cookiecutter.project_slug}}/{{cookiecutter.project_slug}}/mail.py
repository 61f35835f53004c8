"""Mail over SMTP with the standard library's smtplib, as SMTP_* and MAIL_FROM say."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from .config import Settings
from .models import utcnow

WELCOME_TEXT = """Hello,

your account at {{ cookiecutter.project_name }} is ready: sign in with this address.
"""


def send(message: EmailMessage, settings: Settings) -> None:
    """Hand ``message`` to the SMTP server; any failure raises (an OSError)."""
    server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    with server as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


def is_permanent(error: BaseException) -> bool:
    """A refusal the server means for good (a 5xx reply): trying again would repeat it."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def message_id(outbox_id: int, settings: Settings) -> str:
    """The same for every attempt at one outbox row: should a message go out twice (a
    worker lost after the server took it, before the row was marked), mail systems see
    one message and drop the copy."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<welcome-{outbox_id}.{{ cookiecutter.project_slug }}@{domain}>"


def welcome_message(outbox_id: int, to: str, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = "Welcome to {{ cookiecutter.project_name }}"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id(outbox_id, settings)
    message.set_content(WELCOME_TEXT)
    return message

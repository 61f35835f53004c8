import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field

from {{ cookiecutter.project_slug }}.schemas.item import NO_NUL

# RFC 5321, 4.5.3.1: at most 64 octets before the @ and 254 in all.
LOCAL_PART_MAX, EMAIL_MAX = 64, 254


def normalize_email(text: str) -> str:
    """The one spelling of an address that register stores and login looks up: NFKC folds
    look-alikes (a fullwidth letter is that letter) and composes accents (an e and a
    combining accent are one character), then lowercase: two spellings, one account."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).lower())


def _folded(value: object) -> object:
    return normalize_email(value) if isinstance(value, str) else value


def _within_rfc_5321(value: str) -> str:
    value = normalize_email(value)
    local = value.rpartition("@")[0]
    if len(local.encode()) > LOCAL_PART_MAX or len(value.encode()) > EMAIL_MAX:
        raise ValueError(f"at most {LOCAL_PART_MAX} bytes before the @ and {EMAIL_MAX} in all")
    return value


# Folded before it is checked, so that a fullwidth at sign is checked as the @ it becomes.
Email = Annotated[EmailStr, BeforeValidator(_folded), AfterValidator(_within_rfc_5321)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Annotated[str, Field(min_length=8, max_length=128, pattern=NO_NUL)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    created_at: datetime

"""API shapes for users, login and tokens."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.domain.kernel.inputs import BodyBool, BodyInt, InputModel
from app.domain.kernel.pagination import Page
from app.domain.users.passwords import MAX_LENGTH, MIN_LENGTH

# Passwords are taken exactly as typed: the login form does not strip them either. Their length
# shows in the schema; `passwords.check_password` applies the whole rule (also guessability).
Password = Annotated[
    str, StringConstraints(strip_whitespace=False, min_length=MIN_LENGTH, max_length=MAX_LENGTH)
]
_PASSWORD_RULE = (
    f"At least {MIN_LENGTH} characters, not only whitespace, and not easy to guess: common "
    "passwords, keyboard patterns and ones built from your email or name are refused (422)."
)


class UserRegister(InputModel):
    """A new account."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "display_name": "Ada Lovelace",
                    "password": "correct horse battery staple",
                }
            ]
        }
    )

    email: EmailStr = Field(max_length=320)
    display_name: str = Field(min_length=1, max_length=120)
    password: Password = Field(description=_PASSWORD_RULE)


class UserCreate(UserRegister):
    """An account created by an admin."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "grace@example.com",
                    "display_name": "Grace Hopper",
                    "password": "a long first password",
                    "is_admin": False,
                }
            ]
        }
    )

    is_admin: BodyBool = False


class UserUpdate(InputModel):
    """Admin changes to an account; `is_active: false` deactivates it and its tokens."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"display_name": "Ada King"}, {"is_active": False}]}
    )

    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    is_admin: BodyBool | None = None
    is_active: BodyBool | None = None


class MeUpdate(InputModel):
    """Changes to your own account; a new password needs the current one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"display_name": "Ada K."},
                {
                    "password": "a new long passphrase",
                    "current_password": "correct horse battery staple",
                },
            ]
        }
    )

    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    password: Password | None = Field(
        default=None, description=f"A new password; needs `current_password`. {_PASSWORD_RULE}"
    )
    current_password: Annotated[str, StringConstraints(strip_whitespace=False)] | None = Field(
        default=None, max_length=256
    )


class UserPublic(BaseModel):
    """An account as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    version: int


class UserPage(Page[UserPublic]):
    """A page of users."""


class LoginForm(BaseModel):
    """The OAuth2 password grant, form-encoded: your email as `username`, and your password."""

    grant_type: str | None = Field(
        default=None, pattern="^password$", description="`password`, when sent."
    )
    username: str = Field(max_length=320, description="Your email.", examples=["ada@example.com"])
    password: str = Field(
        max_length=1024, json_schema_extra={"format": "password"}, examples=["correct horse"]
    )
    scope: str = Field(default="", max_length=1000, description="Ignored: tokens have no scopes.")
    client_id: str | None = Field(default=None, max_length=200, description="Ignored.")
    client_secret: str | None = Field(default=None, max_length=200, description="Ignored.")


class LoginToken(BaseModel):
    """An OAuth2 bearer token from /auth/token."""

    model_config = ConfigDict(from_attributes=True)

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")
    expires_at: datetime


class PersonalTokenCreate(InputModel):
    """A named personal access token for scripts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "CI sprint setup", "expires_in_days": 90},
                {"name": "Backlog import script"},
            ]
        }
    )

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: BodyInt | None = Field(
        default=None, ge=1, le=3650, description="Omit for a token that lives until revoked."
    )


class PersonalTokenPublic(BaseModel):
    """A personal access token without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class PersonalTokenCreated(PersonalTokenPublic):
    """A new personal access token; `token` is shown only this once."""

    token: str


class PersonalTokenPage(Page[PersonalTokenPublic]):
    """A page of personal access tokens."""


class TokensRevoked(BaseModel):
    """What `DELETE /me/tokens` revoked."""

    revoked: int = Field(
        description="How many tokens stopped working: personal access tokens and other logins."
    )

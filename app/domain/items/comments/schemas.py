"""API shapes for comments."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.items.schemas import Markdown, UserRef
from app.domain.kernel.inputs import InputModel
from app.domain.kernel.pagination import Page


class CommentCreate(InputModel):
    """A new comment (markdown, kept exactly as sent)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "body": "Tested on staging with a saved Visa card: **works**.\n\n"
                    "Still to check: 3-D Secure on Mastercard."
                }
            ]
        }
    )

    body: Markdown = Field(min_length=1)

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a comment needs some text")
        return value


class CommentUpdate(CommentCreate):
    """A changed comment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "body": "Tested on staging with saved Visa and Mastercard cards: **works**, "
                    "3-D Secure included."
                }
            ]
        }
    )


class CommentPublic(BaseModel):
    """A comment (markdown text)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    author: UserRef | None
    body: str
    created_at: datetime
    updated_at: datetime
    version: int


class CommentPage(Page[CommentPublic]):
    """A page of comments, oldest first."""

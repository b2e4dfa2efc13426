"""Column factories shared by table models (each call makes a new Column)."""

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Integer, func
from sqlmodel import Field

# Importing db applies the metadata naming convention before any table is defined.
import app.db  # noqa: F401


def id_field() -> Any:
    """A bigint identity primary key."""
    return Field(
        default=None,
        sa_column=Column(BigInteger, Identity(), primary_key=True),
    )


def fk_field(
    target: str,
    *,
    nullable: bool = False,
    ondelete: str | None = "CASCADE",
    primary_key: bool = False,
) -> Any:
    """A bigint foreign key."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            BigInteger,
            ForeignKey(target, ondelete=ondelete),
            nullable=nullable,
            primary_key=primary_key,
        ),
    )


def created_at_field() -> Any:
    """A timestamptz set by the database when the row is inserted.

    The database's `now()` is the transaction's start, so `created_at` and `updated_at` of a
    new row are equal and everything one request writes carries one time.
    """
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def timestamp_field() -> Any:
    """A nullable timestamptz."""
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def version_field() -> Any:
    """The optimistic-concurrency version, starting at 1 and bumped on every change."""
    return Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))

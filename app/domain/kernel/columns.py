"""Column factories shared by table models (each call makes a new Column)."""

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Identity,
    Integer,
    String,
    func,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from app.domain.kernel import clock

# Stable constraint names so Alembic autogenerate and downgrades stay predictable. Every table
# module imports this one, so the convention is set before any table is defined.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
    """A timestamptz set from the clock when the row is inserted.

    The value comes from `kernel.clock`, not the database's `now()`, so time pinned in tests
    (or moved by the demo) is the time rows carry; the server default covers raw SQL inserts.
    """
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=False,
            default=clock.now,
            server_default=func.now(),  # noqa: TID251  (only for raw SQL inserts)
        ),
    )


def _inserted_at(context: DefaultExecutionContext) -> datetime:
    """The row's created_at when it has one, so a new row's two timestamps are equal.

    Defaults run in column order: a model declares `created_at` before `updated_at`.
    """
    parameters = context.get_current_parameters(isolate_multiinsert_groups=False)  # type: ignore[no-untyped-call]
    created = parameters.get("created_at")
    return created if isinstance(created, datetime) else clock.now()


def updated_at_field() -> Any:
    """A timestamptz that starts equal to the row's created_at; `versioning.bump` moves it."""
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=False,
            default=_inserted_at,
            server_default=func.now(),  # noqa: TID251  (only for raw SQL inserts)
        ),
    )


def timestamp_field() -> Any:
    """A nullable timestamptz."""
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


def version_field() -> Any:
    """The optimistic-concurrency version, starting at 1 and bumped on every change."""
    return Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


E = TypeVar("E", bound=StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A VARCHAR column read back as its StrEnum, so code compares members, not strings."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_type = enum_type

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        """Store the member's value (a valid string is accepted and checked)."""
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        """Read the column as its enum member."""
        return None if value is None else self.enum_type(value)


def optional_enum_field(enum_type: type[E], length: int) -> Any:
    """A nullable enum-typed column stored as VARCHAR(length), empty until set."""
    return Field(default=None, sa_column=Column(StrEnumType(enum_type, length), nullable=True))


def enum_field(enum_type: type[E], default: E | None, length: int) -> Any:
    """A non-null enum-typed column stored as VARCHAR(length), required when `default` is None
    (a check constraint names the values in the table's arguments)."""
    return Field(
        default=... if default is None else default,
        sa_column=Column(
            StrEnumType(enum_type, length),
            nullable=False,
            default=None if default is None else default.value,
        ),
    )

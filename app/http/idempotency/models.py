"""Stored responses for POST requests that carried an Idempotency-Key."""

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import created_at_field, id_field


class IdempotencyRecord(SQLModel, table=True):
    """One key of one caller: the request's fingerprint and, once finished, its response."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        Index("uq_idempotency_records_scope_key", "scope", "key", unique=True),
        Index("ix_idempotency_records_created_at", "created_at"),
    )

    id: int | None = id_field()
    scope: str = Field(sa_type=String(80))
    key: str = Field(sa_type=String(255))
    method: str = Field(sa_type=String(10))
    path: str = Field(sa_type=String(2048))
    request_hash: str = Field(sa_type=String(64))
    status_code: int | None = Field(default=None)
    response_headers: list[list[str]] | None = Field(default=None, sa_column=Column(JSONB))
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = created_at_field()

"""Throttle buckets: one row per limited key, holding its GCRA theoretical arrival time."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, String
from sqlmodel import Field, SQLModel

from app.domain.kernel import columns  # noqa: F401  (the constraint naming convention)


class ThrottleBucket(SQLModel, table=True):
    """One limited key (a SHA-256 of, e.g., an email and an address) and when it is empty."""

    __tablename__ = "throttle_buckets"
    __table_args__ = (Index("ix_throttle_buckets_tat", "tat"),)

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    # GCRA's theoretical arrival time: the bucket is empty again at `tat`, and full while
    # `tat - now` exceeds the burst tolerance.
    tat: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

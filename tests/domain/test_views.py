"""Row views: attributes read from the row, then from the other sources, in order."""

from dataclasses import dataclass

import pytest

from app.domain.kernel.views import FromRow, RowView


@dataclass
class Member:
    version: int
    role: str


@dataclass
class Person:
    email: str
    role: str


@dataclass(frozen=True)
class MemberView(RowView):
    ROW = "member"
    ALSO = ("person",)

    member: Member
    person: Person
    version = FromRow[int]()


def test_a_view_reads_its_row_first_then_its_other_sources() -> None:
    view = MemberView(Member(3, "owner"), Person("ada@example.com", "ignored"))
    assert (view.version, view.role, view.email) == (3, "owner", "ada@example.com")


def test_every_instance_reads_its_own_row_after_the_first_lookup() -> None:
    first = MemberView(Member(1, "owner"), Person("a@example.com", "x"))
    second = MemberView(Member(2, "viewer"), Person("b@example.com", "y"))
    assert (first.role, first.email) == ("owner", "a@example.com")
    assert (second.role, second.email) == ("viewer", "b@example.com")


def test_a_name_no_source_has_is_an_attribute_error() -> None:
    view = MemberView(Member(1, "owner"), Person("a@example.com", "x"))
    with pytest.raises(AttributeError):
        _ = view.nothing
    assert getattr(view, "nothing", None) is None

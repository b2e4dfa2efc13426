"""Views: a row with the computed values its public shape adds, read with `from_attributes`."""

from typing import Any, ClassVar, Generic, Self, TypeVar, cast, overload

T = TypeVar("T")


class RowView:
    """A row plus computed values, for `XPublic.model_validate(view)`.

    Subclasses are frozen dataclasses: a field holding the row (named by `ROW`) and fields or
    properties for what the public shape computes (a key, a label, a name from another table).
    Any other attribute is read from the row, so no column is copied into a response by hand;
    what the row lacks is read from the objects in the fields named by `ALSO`, in order.
    """

    ROW: ClassVar[str] = "row"
    ALSO: ClassVar[tuple[str, ...]] = ()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the view lacks. Dunders never delegate: copy and pickle look
        # them up on instances whose fields are not set yet.
        if name.startswith("__") or name == self.ROW or name in self.ALSO:
            raise AttributeError(name)
        for source in (self.ROW, *self.ALSO):
            holder = getattr(self, source)
            if hasattr(holder, name):
                # This fallback costs ~1.5 µs a read (a page of 200 items reads 4,000): later
                # reads of the name go through a descriptor on the class instead.
                setattr(type(self), name, _Delegated(source, name))
                return getattr(holder, name)
        raise AttributeError(name)


class _Delegated:
    """A view's attribute read from one of its sources (installed by `RowView.__getattr__`)."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name

    def __get__(self, view: RowView | None, owner: type[RowView]) -> Any:
        if view is None:
            return self
        return getattr(getattr(view, self.source), self.name)


class FromRow(Generic[T]):
    """A row's attribute, typed, for code that reads the view: `number = FromRow[int]()`."""

    name: str

    def __set_name__(self, owner: type[RowView], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, view: None, owner: type[RowView]) -> Self: ...

    @overload
    def __get__(self, view: RowView, owner: type[RowView]) -> T: ...

    def __get__(self, view: RowView | None, owner: type[RowView]) -> "Self | T":
        if view is None:
            return self
        return cast(T, getattr(getattr(view, view.ROW), self.name))

"""Views: a row with the computed values its public shape adds, read with `from_attributes`."""

from typing import Any, ClassVar


class RowView:
    """A row plus computed values, for `XPublic.model_validate(view)`.

    Subclasses are frozen dataclasses: a field holding the row (named by `ROW`) and fields or
    properties for what the public shape computes (a key, a label, a name from another table).
    Any other attribute is read from the row, so no column is copied into a response by hand.
    """

    ROW: ClassVar[str] = "row"

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the view lacks. Dunders never delegate: copy and pickle look
        # them up on instances whose fields are not set yet.
        if name.startswith("__") or name == self.ROW:
            raise AttributeError(name)
        return getattr(getattr(self, self.ROW), name)

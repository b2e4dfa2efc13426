"""The base of every request body: unknown fields are errors, text is trimmed."""

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """A request body: typos in field names are 422s rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

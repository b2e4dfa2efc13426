"""API shapes of stream tickets."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class StreamTicketPublic(BaseModel):
    """A stream ticket: pass it once as `?ticket=` when opening the stream, within a minute."""

    model_config = ConfigDict(from_attributes=True)

    ticket: str = Field(
        description="The single-use secret for the stream URL's `ticket` query parameter; "
        "shown only here.",
        examples=["tbxs_9hX2kQ..."],
    )
    expires_at: datetime = Field(description="When the ticket stops working if still unused.")

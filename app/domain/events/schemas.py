"""API shapes of the activity feed."""

from app.domain.events.catalogue import EventPublic
from app.domain.kernel.pagination import Page


class EventPage(Page[EventPublic]):
    """A page of a project's events, newest first."""

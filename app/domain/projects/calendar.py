"""A project's working week as weekday numbers."""

from app.domain.projects.models import Project
from app.domain.projects.schemas import WEEK_ORDER, Weekday


def working_weekdays(project: Project) -> frozenset[int]:
    """The project's working days as weekday numbers (Monday = 0)."""
    return frozenset(WEEK_ORDER.index(Weekday(code)) for code in project.working_days)

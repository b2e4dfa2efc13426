"""API shapes for workflow statuses."""

from pydantic import BaseModel, ConfigDict, Field

from app.domain.kernel.inputs import BodyInt, InputModel
from app.domain.workflow.models import StatusCategory


class StatusCreate(InputModel):
    """A new workflow status; without `position` it goes last."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "In Review", "category": "in_progress", "wip_limit": 3, "position": 2},
                {"name": "Blocked", "category": "in_progress"},
            ]
        }
    )

    name: str = Field(min_length=1, max_length=60)
    category: StatusCategory
    wip_limit: BodyInt | None = Field(default=None, ge=1, le=10_000)
    position: BodyInt | None = Field(default=None, ge=0, description="0-based column position.")


class StatusUpdate(InputModel):
    """Rename, recategorise, move or (un)limit a status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"wip_limit": 5}, {"name": "Code review", "wip_limit": None}]
        }
    )

    name: str | None = Field(default=None, min_length=1, max_length=60)
    category: StatusCategory | None = None
    wip_limit: BodyInt | None = Field(default=None, ge=1, le=10_000, description="null: no limit.")
    position: BodyInt | None = Field(default=None, ge=0)


class StatusPublic(BaseModel):
    """A workflow status."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: StatusCategory
    position: int
    wip_limit: int | None
    version: int


class StatusList(BaseModel):
    """All statuses of a project, in workflow order (never paginated: a board has few)."""

    data: list[StatusPublic]

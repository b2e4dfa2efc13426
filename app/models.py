"""Imports every table model so SQLModel.metadata (and Alembic) sees them all."""

from app.domain.idempotency.models import IdempotencyRecord
from app.domain.projects.models import Project, ProjectMember
from app.domain.users.models import ApiToken, User

__all__ = ["ApiToken", "IdempotencyRecord", "Project", "ProjectMember", "User"]

"""API shapes of archives: the archive document itself, and what an import reports."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domain.archive.format import FORMAT, VERSION
from app.domain.kernel.inputs import BodyInt, InputModel, Rfc3339DateTime
from app.domain.projects.schemas import ProjectPublic


class ArchiveUser(InputModel):
    """A person the archive's rows name, by `ref`; matched to an account by email on import."""

    model_config = ConfigDict(from_attributes=True)

    ref: BodyInt = Field(
        description="How the rows name this person (their user id where exported)."
    )
    email: str = Field(max_length=320)
    display_name: str = Field(max_length=120)


class ProjectArchive(InputModel):
    """A whole project as one JSON document (docs/export-import.md describes every part)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "exported_at": "2026-11-27T14:00:00+00:00",
                    "project": {"key": "WEB", "name": "Web shop", "time_zone": "UTC"},
                    "tables": {
                        "statuses": [{"id": 1, "name": "To Do", "category": "todo"}],
                        "items": [{"id": 7, "number": 1, "title": "Log in", "status_id": 1}],
                    },
                    "users": [{"ref": 3, "email": "ada@example.com", "display_name": "Ada"}],
                }
            ]
        }
    )

    format: Literal["timebox.project"] = Field(description="Always `timebox.project`.")
    version: BodyInt = Field(
        description=f"The format's version: this server writes {VERSION} and reads {VERSION}. "
        "A change that older readers could misread gets a new version."
    )
    exported_at: Rfc3339DateTime
    project: dict[str, Any] = Field(
        description="The project's settings and counters: every column of the project but its "
        "id; `key` is the key it had."
    )
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="Every project-scoped table, in foreign-key order: its rows with every "
        "column but `project_id`, ids as they were; people by their `ref` in `users`."
    )
    users: list[ArchiveUser] = Field(
        description="Everyone the rows name: members, assignees, authors, actors. Last, as it "
        "is gathered while the tables stream."
    )


class ImportedTable(BaseModel):
    """What became of one table's rows."""

    model_config = ConfigDict(from_attributes=True)

    imported: int
    dropped: int = Field(
        description="Rows left out because the person they belong to (a vote, a stand-up "
        "entry, a membership) has no account here."
    )


class ProjectImportPublic(BaseModel):
    """The project an archive became, and what of it could not be kept."""

    model_config = ConfigDict(from_attributes=True)

    project: ProjectPublic = Field(description="The new project; you are its owner.")
    tables: dict[str, ImportedTable] = Field(description="By table, in foreign-key order.")
    users_matched: int = Field(description="People of the archive who have an account here.")
    users_not_found: list[ArchiveUser] = Field(
        description="People with no account of that email here: what they did is kept, but "
        "names nobody (assignee, author and owner are null)."
    )

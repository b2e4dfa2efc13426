"""API shapes for the Jira CSV import: what it did with each row, and why."""

from pydantic import BaseModel, ConfigDict, Field

from app.domain.jira_import.mapping import Severity, StatusBy
from app.domain.jira_import.plan import Outcome


class JiraImportProblem(BaseModel):
    """Something about one row of the file, and what the import did about it."""

    model_config = ConfigDict(from_attributes=True)

    line: int = Field(description="The file line the row starts on (the header is line 1).")
    issue_key: str | None = Field(description="The row's Jira issue key, if it has one.")
    column: str | None = Field(description="The column, as the file names it; null: the row.")
    severity: Severity = Field(
        description="`error`: the row was left out; `warning`: it was imported, but this "
        "column differently from the file (or not at all)."
    )
    code: str = Field(description="What kind of problem: `not_a_number`, `unknown_status`, ...")
    message: str = Field(description="What is wrong, and what was done instead.")
    detail: str = Field(
        description='The problem in one line: `row 12, column "Story Points": "abc" is not a '
        "number`."
    )


class JiraImportedRow(BaseModel):
    """What became of one row."""

    model_config = ConfigDict(from_attributes=True)

    line: int = Field(description="The file line the row starts on.")
    issue_key: str | None = Field(description="The Jira issue key, kept as the item's external_id.")
    outcome: Outcome = Field(
        description="`created`, `updated` (the changes are in the item's history), `unchanged`, "
        "or `skipped` (see `problems`)."
    )
    number: int | None = Field(
        description="The item's number; null for a skipped row and a new item of a dry run."
    )


class JiraStatusUse(BaseModel):
    """Where the rows of one Jira status went."""

    model_config = ConfigDict(from_attributes=True)

    jira_status: str = Field(description="The status as the file names it.")
    status_id: int = Field(description="The project's status its items are in.")
    status: str = Field(description="That status's name.")
    by: StatusBy = Field(
        description="`name` (the same name, any case), `category` (Jira's Status Category), or "
        "`default` (neither matched: the first to-do status)."
    )
    rows: int = Field(description="How many imported rows have this Jira status.")


class JiraSprintUse(BaseModel):
    """A sprint the rows were put in."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    number: int | None = Field(description="Its number; null for a sprint a dry run would plan.")
    created: bool = Field(
        description="Whether the import planned it (no open sprint had the name)."
    )
    rows: int = Field(description="How many rows' items were put in it.")


class JiraImportResult(BaseModel):
    """What a Jira CSV import did, or with `dry_run` would do."""

    model_config = ConfigDict(from_attributes=True)

    dry_run: bool = Field(description="True: nothing was written.")
    rows: int = Field(description="Rows read below the header (blank ones not counted).")
    created: int
    updated: int
    unchanged: int
    skipped: int = Field(description="Rows left out for an `error` in `problems`.")
    items: list[JiraImportedRow] = Field(description="Every row, in file order.")
    problems: list[JiraImportProblem] = Field(description="Every problem, by row.")
    unmapped_columns: list[str] = Field(
        description="Columns of the file that nothing is read from, each once."
    )
    statuses: list[JiraStatusUse] = Field(description="Where each Jira status of the file went.")
    sprints: list[JiraSprintUse] = Field(description="The sprints rows were put in.")

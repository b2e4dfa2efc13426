"""Importing a backlog from a Jira CSV export."""

import email.message
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from starlette.datastructures import UploadFile

from app.domain.jira_import import service as jira_import
from app.domain.jira_import.schemas import JiraImportResult
from app.domain.jira_import.service import ImportOptions
from app.domain.kernel.errors import InvalidInput
from app.domain.kernel.inputs import QueryBool
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, MemberAccess, SessionDep

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/import",
    tags=["import"],
    responses=problem_responses(401, 404),
)

# What browsers and tools call a .csv file: Excel on Windows sends its own type for one.
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})
MULTIPART = "multipart/form-data"
ACCEPTED = "text/csv, multipart/form-data"

_EXAMPLE = (
    "Summary,Issue key,Issue id,Issue Type,Status,Priority,Created,Labels,Labels,Sprint,"
    "Custom field (Story Points),Parent,Description\n"
    "Checkout,SHOP-1,10001,Epic,To Do,Medium,02/Mar/24 9:15 AM,,,,,,\n"
    "Pay with a saved card,SHOP-2,10002,Story,In Progress,High,12/Mar/24 2:40 PM,checkout,"
    'payments,Sprint 7,5,10001,"So that I don\'t type my card\nnumber on every order."\n'
)

_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV file as Jira exports it (Filters > Export > CSV, all or current "
        "fields), UTF-8 with or without a byte order mark: as the raw body "
        "(`curl --data-binary @jira.csv -H 'Content-Type: text/csv'`), or as the `file` field "
        "of a form upload.",
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": _EXAMPLE},
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The Jira CSV export.",
                        }
                    },
                }
            },
        },
    }
}


def _media_type(content_type: str) -> str:
    message = email.message.Message()
    message["content-type"] = content_type
    return message.get_content_type()


async def _csv_bytes(request: Request) -> bytes:
    """The file: the whole body, or the `file` field of a form; 415 for anything else."""
    content_type = request.headers.get("content-type")
    media_type = _media_type(content_type) if content_type else None
    if media_type in CSV_TYPES:
        return await request.body()
    if media_type == MULTIPART:
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput.for_field(
                    "body.file", "Send the CSV file in the form field `file`.", "missing"
                )
            return await upload.read()
    sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"This endpoint reads a CSV file ({ACCEPTED}); the request has {sent}.",
        headers={"Accept-Post": ACCEPTED},
    )


@router.post(
    "/jira-csv",
    response_model=JiraImportResult,
    responses=problem_responses(403, 409, 413, 415, 422),
    openapi_extra=_REQUEST_BODY,
)
async def import_jira_csv(
    access: MemberAccess,
    session: SessionDep,
    request: Request,
    dry_run: Annotated[
        QueryBool, Query(description="`true`: check and report what would happen; write nothing.")
    ] = False,
    strict: Annotated[
        QueryBool,
        Query(description="`true`: refuse the whole file (422) if any row has an error."),
    ] = False,
    create_sprints: Annotated[
        QueryBool,
        Query(
            description="`false`: put items only in open sprints that exist; never plan new ones."
        ),
    ] = True,
) -> JiraImportResult:
    """Make backlog items from a Jira CSV export, or update those an earlier import made (members).

    Items are matched by Jira issue key (kept as `external_id`): importing the same file again
    changes nothing, and a changed row updates its item, each change in the item's history.
    A row with an error is left out and the rest imported (with `strict=true` nothing is);
    `problems` names each by file line and column. A file that is not UTF-8 CSV with a
    `Summary` and an `Issue key` column is a 422, with nothing written.
    """
    data = await _csv_bytes(request)
    options = ImportOptions(dry_run=dry_run, strict=strict, create_sprints=create_sprints)
    report = await jira_import.import_csv(session, access, data, options)
    return JiraImportResult.model_validate(report)

"""Project archives: a whole project exported as one JSON document, imported as a new one."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import StreamingResponse

import app.models  # noqa: F401  (every table registered: the archive is made from them all)
from app.db import Database
from app.domain.archive import service as archive
from app.domain.archive.format import FORMAT
from app.domain.archive.schemas import ProjectArchive, ProjectImportPublic
from app.domain.kernel import clock
from app.domain.projects.schemas import KEY_PATTERN
from app.http.problems import Problem, problem_responses
from app.http.throttle.limiter import Bucket, Rate, consume
from app.routers.deps import (
    API_PREFIX,
    CurrentUser,
    OwnerAccess,
    SessionDep,
    SettingsDep,
    set_location,
)

IMPORT_PATH = f"{API_PREFIX}/projects/import"
_JSON = "application/json"
# Archives hold budgets and rates: no cache keeps a copy.
_NO_STORE = "private, no-store"

router = APIRouter(
    prefix=f"{API_PREFIX}/projects", tags=["archive"], responses=problem_responses(401)
)

_EXPORTED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ProjectArchive,
        "description": "The archive, streamed as it is read (docs/export-import.md).",
        "headers": {
            "Content-Disposition": {
                "description": "An attachment named `<KEY>-<date>.timebox.json`, e.g. "
                '`attachment; filename="WEB-2026-11-27.timebox.json"`.',
                "schema": {"type": "string"},
            }
        },
    }
}


async def _parts(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for part in rest:
        yield part


@router.get("/{key}/export", response_model=None, responses={**_EXPORTED, **problem_responses(403)})
async def export_project(access: OwnerAccess, request: Request) -> StreamingResponse:
    """The whole project as one versioned JSON archive (owners: it holds budgets and rates).

    Items with their history, sprints with their frozen commitments, outcomes and reports,
    retros, action items, releases, risks, work logs, the activity log and the rest, read from
    one consistent snapshot and streamed as it is read. Import it with
    `POST /projects/import?key=NEW`. Webhooks, invitations, notifications and the calendar
    feed's token never travel; cards of anonymous retros carry no author.
    """
    database: Database = request.app.state.database
    exported_at = clock.now()
    parts = archive.export_archive(database.sessions, access.project_id, exported_at)
    # The head is read before the answer starts: a project deleted meanwhile is still a 404.
    head = await anext(parts)
    day = clock.today(access.project.time_zone).isoformat()
    headers = {
        "Content-Disposition": f'attachment; filename="{access.project.key}-{day}.timebox.json"',
        # Each export is its own representation (it names the moment it was taken).
        "ETag": f'W/"export-{access.project_id}-{int(exported_at.timestamp() * 1e6)}"',
        "Cache-Control": _NO_STORE,
    }
    return StreamingResponse(_parts(head, parts), media_type=_JSON, headers=headers)


_TOO_MANY_IMPORTS = {
    "model": Problem,
    "description": "You imported too many archives in the last hour; retry after "
    "`Retry-After` seconds.",
}


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectImportPublic,
    responses={**problem_responses(409, 422), 429: _TOO_MANY_IMPORTS},
)
async def import_project(
    archive_body: Annotated[
        ProjectArchive,
        Body(description=f"A `{FORMAT}` archive, as `GET /projects/{{key}}/export` writes it."),
    ],
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    key: Annotated[
        str,
        Query(
            pattern=KEY_PATTERN,
            description="The new project's key: 2–10 upper-case letters or digits, not taken.",
            examples=["WEB2"],
        ),
    ],
) -> ProjectImportPublic:
    """Restore an exported archive as a new project under `key`; you become its owner.

    Everything gets new ids; people are matched to accounts by email: members with an account
    here rejoin with their roles, and what names someone without one keeps its place but
    names nobody (the answer lists them). One transaction: an archive that is not valid (its
    format or version, a missing table, a reference to nothing) is a 422 naming the first
    problems by their path in the body, and nothing is written. 409 when the key is taken;
    at most `TIMEBOX_MAX_IMPORT_BYTES` (413 above) and a few imports an hour (429).
    """
    assert user.id is not None
    database: Database = request.app.state.database
    rate = Rate(settings.imports_per_user_per_hour, timedelta(hours=1))
    await consume(database, [Bucket.of(rate, "import:user", str(user.id))], "Too many imports.")
    view = await archive.import_archive(session, user, key, archive_body)
    set_location(response, f"/projects/{key}")
    return ProjectImportPublic.model_validate(view)

"""The `timebox` command: serve, migrate, user and token management."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, TypeVar

import httpx
import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate as migrations
from app.db import Database
from app.demo.service import DemoExists, DemoResult, create_demo
from app.domain.kernel.errors import InvalidInput
from app.domain.users import repository as users_repository
from app.domain.users import service as users
from app.domain.users.passwords import check_password
from app.domain.users.schemas import PersonalTokenCreate, UserCreate
from app.embedded import EmbeddedPostgres
from app.observability import configure_logging
from app.openapi import BEARER_SCHEME, LOGIN_SCHEME, render_openapi
from app.settings import Settings, get_settings

T = TypeVar("T")

cli = typer.Typer(
    help="Timebox: a Scrum/Agile sprint service. Without TIMEBOX_DATABASE_URL every command "
    "uses a private embedded PostgreSQL in TIMEBOX_DATA_DIR (default ./.timebox).",
    no_args_is_help=True,
    add_completion=False,
)
user_cli = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
token_cli = typer.Typer(help="Manage personal access tokens.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
cli.add_typer(token_cli, name="token")


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database URL, or an embedded PostgreSQL's for the duration."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def _run_in_session(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction against `url`."""

    async def _main() -> T:
        settings = get_settings().model_copy(update={"database_url": url})
        database = Database.connect(settings)
        try:
            async with database.sessions() as session, session.begin():
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(_main())


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [TIMEBOX_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [TIMEBOX_PORT].")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Apply migrations and serve the API (starting an embedded PostgreSQL if none is set)."""
    settings = get_settings()
    configure_logging(settings)
    with database_url(settings) as url:
        migrations.upgrade(url)
        # Worker and reloader processes read the URL from the environment.
        os.environ["TIMEBOX_DATABASE_URL"] = url
        get_settings.cache_clear()
        # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through Python instead
        # lets the `with` above stop the embedded PostgreSQL cleanly.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        uvicorn.run(
            "app.main:serve_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=None if reload else workers,
            reload=reload,
            log_config=None,
            proxy_headers=True,
        )


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the latest version."""
    settings = get_settings()
    with database_url(settings) as url:
        migrations.upgrade(url)
    typer.echo("database is up to date")


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\n")


@user_cli.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The new user's email.")],
    name: Annotated[
        str | None, typer.Option(help="Display name (default: from the email).")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="Make the user an instance admin.")
    ] = False,
) -> None:
    """Create a user; the password is prompted for, or read from standard input."""
    try:
        data = UserCreate(
            email=email,
            display_name=name or email.split("@")[0],
            password=_read_password(),
            is_admin=admin,
        )
        # Refuse a weak password before starting or migrating any database (the service checks
        # again, as it does for every caller).
        asyncio.run(
            check_password(data.password, "password", user_inputs=(data.email, data.display_name))
        )
        settings = get_settings()
        with database_url(settings) as url:
            migrations.upgrade(url)
            user = _run_in_session(url, lambda session: users.create_user(session, data))
    except ValidationError as exc:  # too short, or an email that is not one
        refused = "; ".join(f"{error['loc'][0]}: {error['msg']}" for error in exc.errors())
        typer.echo(f"refused: {refused}", err=True)
        raise typer.Exit(1) from exc
    except InvalidInput as exc:  # the password rule: too easy to guess, or only whitespace
        typer.echo(f"refused: password: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created user {user.id} {user.email}{' (admin)' if user.is_admin else ''}")


@token_cli.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="Whose token it is.")],
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Days until it expires (default: never).")
    ] = None,
) -> None:
    """Print a new personal access token for scripts (shown once)."""
    settings = get_settings()

    async def _create(session: AsyncSession) -> str:
        user = await users_repository.get_user_by_email(session, email)
        if user is None or not user.is_active:
            raise typer.BadParameter(f"no active user with email {email}", param_hint="--email")
        data = PersonalTokenCreate(name=name, expires_in_days=expires_in_days)
        issued = await users.create_personal_token(session, user, data)
        return issued.secret

    with database_url(settings) as url:
        migrations.upgrade(url)
        secret = _run_in_session(url, _create)
    typer.echo(secret)


@cli.command()
def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete an earlier DEMO project and start over.")
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(help="Address `timebox serve` binds to, for the URLs shown [TIMEBOX_HOST]."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port `timebox serve` listens on, for the URLs shown [TIMEBOX_PORT]."),
    ] = None,
) -> None:
    """Create the DEMO project: a team of five, ~120 items, seven sprints of history, retros."""
    settings = get_settings()

    async def _create(url: str) -> DemoResult:
        database = Database.connect(settings.model_copy(update={"database_url": url}))
        try:
            return await create_demo(database, reset=reset)
        finally:
            await database.dispose()

    with database_url(settings) as url:
        migrations.upgrade(url)
        try:
            result = asyncio.run(_create(url))
        except DemoExists as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
    given = [(name, value) for name, value in (("host", host), ("port", port)) if value is not None]
    make_serve = " ".join(["make serve", *(f"{name.upper()}={value}" for name, value in given)])
    timebox_serve = " ".join(["timebox serve", *(f"--{name} {value}" for name, value in given)])
    bind = host or settings.host
    # Browsers cannot open a wildcard address (0.0.0.0, ::); the server answers on loopback.
    shown = "127.0.0.1" if bind in {"0.0.0.0", "::", ""} else bind  # noqa: S104
    base = str(httpx.URL(scheme="http", host=shown, port=port or settings.port))
    project = f"{base}/api/v1/projects/{result.project_key}"
    lines = [
        f"Created project {result.project_key}: {result.sprints} sprints, the last one active.",
        "",
        f"Log in as any of (ordinary users, not admins): {', '.join(result.emails)}",
        f"Password (this run's, for all five): {result.password}",
        f"A token for curl (30 days): {result.token}",
        f"  export TOKEN={result.token}",
        "",
        f"Start the service (`{make_serve}` or `{timebox_serve}`), then open:",
        f"  {base}/docs   to try the API. Press Authorize, then either log in under",
        f"    {LOGIN_SCHEME} (OAuth2, password) with one of the emails and the password",
        f"    above, or paste the token above into {BEARER_SCHEME} (http, Bearer).",
        f"  {base}/redoc  to read the API reference.",
        "Or read the reports with curl:",
        *(
            f'  curl -H "Authorization: Bearer $TOKEN" {project}{path}'
            for path in (
                "/velocity",
                "/velocity.svg > velocity.svg",
                f"/sprints/{result.sprints}/burndown.svg > burndown.svg",
                f"/sprints/{result.sprints - 1}/report",
                "/forecast",
                "/flow",
                f"/sprints/{result.sprints - 1}/retro/export",
                "/actions",
                "/actions/stats",
            )
        ),
    ]
    typer.echo("\n".join(lines))


@cli.command()
def openapi(
    output: Annotated[
        str | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Print the OpenAPI document (no database needed)."""
    from app.main import create_app

    document = render_openapi(create_app(Settings(database_url="postgresql://unused/unused")))
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(document)
    else:
        typer.echo(document, nl=False)


def main() -> None:
    """Entry point of the `timebox` console script."""
    cli()

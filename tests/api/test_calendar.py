"""The ceremony schedule and the iCalendar feed: events in the project's zone across a DST
change, cancelled sprints gone, stable UIDs, the feed token (rotation, wrong tokens, never in
the logs or the idempotency store) — parsed with icalendar, on real PostgreSQL."""

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.factories import Factory, Team
from tests.helpers import assert_problem

PROJECTS = "/api/v1/projects"
MEETINGS = f"{PROJECTS}/WEB/meetings"
FEED = f"{PROJECTS}/WEB/calendar.ics"
TOKEN = f"{PROJECTS}/WEB/calendar/token"
DEFAULTS = {
    "planning": {"start": "10:00", "duration_minutes": 120},
    "standup": {"start": "09:30", "duration_minutes": 15},
    "review": {"start": "14:00", "duration_minutes": 60},
    "retro": {"start": "15:30", "duration_minutes": 60},
}


async def berlin_team(factory: Factory) -> Team:
    """WEB in Europe/Berlin with sprint 1 from Monday 23 March to Friday 3 April 2026: summer
    time starts on Sunday 29 March, in the middle of it."""
    team = await factory.team(time_zone="Europe/Berlin")
    await factory.sprint(
        "WEB", team.owner, start_date="2026-03-23", end_date="2026-04-03", goal="Saved cards"
    )
    return team


def events(response: httpx.Response) -> dict[str, Any]:
    """The feed's events by UID (the response must be a calendar)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def utc(event: Any, field: str = "dtstart") -> datetime:
    value: datetime = event[field].dt
    return value.astimezone(UTC)


async def test_the_schedule_has_defaults_and_owners_replace_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team(time_zone="Europe/Berlin")
    read = await client.get(MEETINGS, headers=team.viewer.headers)
    assert read.status_code == 200
    body = read.json()
    assert {meeting: body[meeting] for meeting in DEFAULTS} == DEFAULTS
    assert (body["time_zone"], body["version"], body["feed_token_prefix"]) == (
        "Europe/Berlin",
        1,
        None,
    )
    changed = {**DEFAULTS, "standup": {"start": "09:00", "duration_minutes": 10}}
    assert_problem(await client.put(MEETINGS, headers=team.member.headers, json=changed), 403)
    stale = await client.put(
        MEETINGS, headers={**team.owner.headers, "If-Match": '"2"'}, json=changed
    )
    assert_problem(stale, 412)
    saved = await client.put(
        MEETINGS, headers={**team.owner.headers, "If-Match": '"1"'}, json=changed
    )
    assert saved.status_code == 200, saved.text
    assert (saved.json()["standup"], saved.json()["version"]) == (changed["standup"], 2)
    assert saved.headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("meeting", "slot", "field"),
    [
        ("retro", {"start": "23:30", "duration_minutes": 60}, "body.retro.duration_minutes"),
        ("planning", {"start": "9:30", "duration_minutes": 60}, "body.planning.start"),
        ("planning", {"start": "24:00", "duration_minutes": 60}, "body.planning.start"),
        ("standup", {"start": "09:30", "duration_minutes": 4}, "body.standup.duration_minutes"),
        ("standup", {"start": "09:30", "duration_minutes": 481}, "body.standup.duration_minutes"),
        ("review", {"start": "14:00", "duration_minutes": "60"}, "body.review.duration_minutes"),
        ("review", {"start": 1400, "duration_minutes": 60}, "body.review.start"),
    ],
)
async def test_bad_schedules_are_refused_naming_the_field_and_write_nothing(
    client: httpx.AsyncClient, factory: Factory, meeting: str, slot: Any, field: str
) -> None:
    team = await factory.team()
    response = await client.put(
        MEETINGS, headers=team.owner.headers, json={**DEFAULTS, meeting: slot}
    )
    assert_problem(response, 422, field)
    body = (await client.get(MEETINGS, headers=team.owner.headers)).json()
    assert (body[meeting], body["version"]) == (DEFAULTS[meeting], 1)


async def test_the_feed_has_every_ceremony_in_the_projects_zone_across_summer_time(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await berlin_team(factory)
    response = await client.get(FEED, headers=team.viewer.headers)
    found = events(response)
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-calname"]) == "WEB ceremonies"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    # Planning on the first day, a stand-up on each of the other 9 working days, review and
    # retro on the last: 12 events.
    assert len(found) == 12
    sprint_uids = {uid.split("-planning")[0] for uid in found if "-planning" in uid}
    (prefix,) = sprint_uids
    planning = found[f"{prefix}-planning@timebox"]
    assert str(planning["summary"]) == "WEB Sprint 1 planning"
    assert "Saved cards" in str(planning["description"])
    assert planning["dtstart"].params["TZID"] == "Europe/Berlin"
    # 10:00 in Berlin on 23 March is 09:00 UTC (winter time, UTC+1).
    assert utc(planning) == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
    assert utc(planning, "dtend") == datetime(2026, 3, 23, 11, 0, tzinfo=UTC)
    standups = sorted(uid for uid in found if "-standup-" in uid)
    assert [uid.rsplit("-", 1)[1] for uid in standups] == [
        "20260324@timebox",
        "20260325@timebox",
        "20260326@timebox",
        "20260327@timebox",
        "20260330@timebox",
        "20260331@timebox",
        "20260401@timebox",
        "20260402@timebox",
        "20260403@timebox",
    ]
    # 09:30 local both sides of the change: 08:30 UTC on Friday, 07:30 UTC on Monday.
    assert utc(found[f"{prefix}-standup-20260327@timebox"]) == datetime(
        2026, 3, 27, 8, 30, tzinfo=UTC
    )
    monday = found[f"{prefix}-standup-20260330@timebox"]
    assert utc(monday) == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
    assert utc(monday, "dtend") == datetime(2026, 3, 30, 7, 45, tzinfo=UTC)
    assert str(monday["summary"]) == "WEB Sprint 1 stand-up"
    assert utc(found[f"{prefix}-review@timebox"]) == datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
    assert utc(found[f"{prefix}-retro@timebox"]) == datetime(2026, 4, 3, 13, 30, tzinfo=UTC)

    # A new time moves the events and keeps their UIDs: clients update rather than copy.
    later = {**DEFAULTS, "standup": {"start": "11:00", "duration_minutes": 15}}
    assert (await client.put(MEETINGS, headers=team.owner.headers, json=later)).status_code == 200
    moved = events(await client.get(FEED, headers=team.viewer.headers))
    assert moved.keys() == found.keys()
    assert utc(moved[f"{prefix}-standup-20260330@timebox"]) == datetime(
        2026, 3, 30, 9, 0, tzinfo=UTC
    )
    assert int(moved[f"{prefix}-planning@timebox"]["sequence"]) > int(planning["sequence"])


async def test_cancelled_sprints_drop_their_meetings(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await berlin_team(factory)
    second = await factory.sprint("WEB", team.owner, start_date="2026-04-06", end_date="2026-04-17")
    assert len(events(await client.get(FEED, headers=team.member.headers))) == 12 + 12
    cancelled = await client.post(
        f"{PROJECTS}/WEB/sprints/{second}/cancel", headers=team.owner.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    remaining = events(await client.get(FEED, headers=team.member.headers))
    assert len(remaining) == 12
    assert max(utc(event).date() for event in remaining.values()).isoformat() == "2026-04-03"


async def test_the_feed_token_authenticates_and_rotation_retires_the_old_one(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await berlin_team(factory)
    assert_problem(await client.get(FEED), 404)
    assert_problem(await client.get(FEED, params={"token": "tbcal_guess"}), 404)
    assert_problem(await client.post(TOKEN, headers=team.member.headers), 403)
    made = await client.post(TOKEN, headers=team.owner.headers)
    assert made.status_code == 201, made.text
    first = made.json()
    assert first["url"].endswith(f"/api/v1/projects/WEB/calendar.ics?token={first['token']}")
    assert first["token"].startswith(first["prefix"])
    assert len(events(await client.get(FEED, params={"token": first["token"]}))) == 12
    # The token is for WEB only: with another key it names nothing.
    other = await factory.owner("OTHER")
    assert other
    assert_problem(
        await client.get(f"{PROJECTS}/OTHER/calendar.ics", params={"token": first["token"]}), 404
    )
    schedule = (await client.get(MEETINGS, headers=team.viewer.headers)).json()
    assert schedule["feed_token_prefix"] == first["prefix"]

    second = (await client.post(TOKEN, headers=team.owner.headers)).json()
    assert second["token"] != first["token"]
    gone = await client.get(FEED, params={"token": first["token"]})
    body = assert_problem(gone, 404)
    unknown = assert_problem(await client.get(f"{PROJECTS}/NOPE/calendar.ics"), 404)
    assert body["detail"].replace("WEB", "NOPE") == unknown["detail"]
    assert len(events(await client.get(FEED, params={"token": second["token"]}))) == 12
    # An outsider's bearer token is no way in either; a bad bearer token is a 401.
    assert_problem(await client.get(FEED, headers=team.outsider.headers), 404)
    assert_problem(await client.get(FEED, headers={"Authorization": "Bearer tbx_nope"}), 401)


async def test_the_token_is_never_stored_for_a_replay_nor_written_to_the_log(
    client: httpx.AsyncClient, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    team = await berlin_team(factory)
    headers = {**team.owner.headers, "Idempotency-Key": "rotate-once"}
    first = (await client.post(TOKEN, headers=headers)).json()
    retried = await client.post(TOKEN, headers=headers)
    # Not replayed from a store: each POST makes a new token.
    assert retried.status_code == 201
    assert "idempotency-replayed" not in retried.headers
    assert retried.json()["token"] != first["token"]
    token = retried.json()["token"]
    with caplog.at_level(logging.DEBUG):
        assert len(events(await client.get(FEED, params={"token": token}))) == 12
        assert_problem(await client.get(FEED, params={"token": token + "x"}), 404)
    access = [record for record in caplog.records if record.name == "timebox.access"]
    assert len(access) == 2, [record.getMessage() for record in caplog.records]
    assert "/calendar.ics" in access[0].getMessage()
    # httpx's own line is the test client's, not the server's: it is left out.
    for record in (record for record in caplog.records if record.name != "httpx"):
        assert token not in record.getMessage()
        assert token not in repr(record.__dict__)

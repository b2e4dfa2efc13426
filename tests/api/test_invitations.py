"""Invitations: adding a member by email invites the address and never reveals who has an account.

Owners invite, list, read and revoke; whoever signs in with the address sees, accepts or
declines. Over HTTP on real PostgreSQL, with the clock pinned where expiry matters.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from time_machine import TimeMachineFixture

from app.domain.projects import repository as projects_repository
from app.domain.projects.invitations import repository as invitations_repository
from app.domain.projects.invitations import service as invitations_service
from app.domain.projects.models import Role
from app.domain.users import repository as users_repository
from tests.factories import Actor, Factory, Team
from tests.helpers import all_pages, assert_problem, etag_version, pause_after, rendezvous

PROJECTS = "/api/v1/projects"
MINE = "/api/v1/me/invitations"
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(days=14)


def members_url(key: str = "WEB") -> str:
    return f"{PROJECTS}/{key}/members"


def invitations_url(key: str = "WEB", invitation_id: int | None = None) -> str:
    base = f"{PROJECTS}/{key}/invitations"
    return base if invitation_id is None else f"{base}/{invitation_id}"


async def invite(
    client: httpx.AsyncClient, owner: Actor, email: str, role: str = "member", key: str = "WEB"
) -> httpx.Response:
    """POST an email to the members route, as the SDK's `add_member` does."""
    return await client.post(
        members_url(key), headers=owner.headers, json={"email": email, "role": role}
    )


async def invited(
    client: httpx.AsyncClient, owner: Actor, email: str, role: str = "member", key: str = "WEB"
) -> dict[str, Any]:
    """The invitation an invite answered with (the invite must be accepted for delivery)."""
    response = await invite(client, owner, email, role, key)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def my_invitations(client: httpx.AsyncClient, actor: Actor) -> list[dict[str, Any]]:
    return await all_pages(client, actor, MINE)


async def project_invitations(
    client: httpx.AsyncClient, owner: Actor, state: str | None = None, key: str = "WEB"
) -> list[dict[str, Any]]:
    params = {} if state is None else {"state": state}
    return await all_pages(client, owner, invitations_url(key), **params)


async def member_roles(client: httpx.AsyncClient, actor: Actor) -> dict[int, str]:
    members = await all_pages(client, actor, members_url())
    return {member["user_id"]: member["role"] for member in members}


@pytest.fixture
async def team(factory: Factory) -> Team:
    return await factory.team("WEB")


@pytest.fixture
def pinned(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    """The clock stopped at NOW."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


# --- no account enumeration -------------------------------------------------------------------


async def test_known_and_unknown_emails_answer_identically(
    client: httpx.AsyncClient,
    factory: Factory,
    team: Team,
    pinned: TimeMachineFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grace = await factory.user("grace@example.com")

    # No account is looked up at all, so neither the answer nor its timing can depend on one.
    async def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("an invitation looked up an account")

    monkeypatch.setattr(users_repository, "get_user_by_email", no_lookup)
    monkeypatch.setattr(users_repository, "get_user", no_lookup)

    known = await invite(client, team.owner, "grace@example.com")
    unknown = await invite(client, team.owner, "nobody@example.com")
    # A member of the project already: not looked up either.
    member = await invite(client, team.owner, team.member.email)

    for response in (known, unknown, member):
        assert response.status_code == 202, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.headers) >= {"location", "etag"}
    bodies = [response.json() for response in (known, unknown, member)]
    assert bodies[0].keys() == bodies[1].keys() == bodies[2].keys()

    def without_address(body: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in body.items() if key not in ("id", "email")}

    assert without_address(bodies[0]) == without_address(bodies[1]) == without_address(bodies[2])
    assert bodies[0]["email"] == "grace@example.com"
    assert bodies[1]["email"] == "nobody@example.com"
    # Nothing about the addressee: only the project, the role, and the owner who invited.
    assert bodies[0]["invited_by"] == team.owner.id
    assert str(grace.id) not in {str(value) for value in bodies[0].values()}
    assert "grace@example.com" not in {bodies[0][k] for k in bodies[0] if k != "email"}
    assert bodies[0]["state"] == "pending"
    assert bodies[0]["role"] == "member"
    assert bodies[0]["project_key"] == "WEB"
    assert bodies[0]["project_name"] == "Project WEB"
    assert bodies[0]["version"] == 1
    assert etag_version(known) == 1
    assert datetime.fromisoformat(bodies[0]["created_at"]) == NOW
    assert datetime.fromisoformat(bodies[0]["expires_at"]) == NOW + TTL
    assert known.headers["Location"] == invitations_url(invitation_id=bodies[0]["id"])

    # Nobody joined: an invitation waits for its addressee.
    assert set(await member_roles(client, team.owner)) == {
        team.owner.id,
        team.member.id,
        team.viewer.id,
    }


async def test_adding_by_user_id_still_adds_at_once(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    newcomer = await factory.user()
    await factory.acquaint(team.owner, newcomer)
    response = await client.post(
        members_url(), headers=team.owner.headers, json={"user_id": newcomer.id, "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == newcomer.id
    assert response.headers["Location"] == f"{members_url()}/{newcomer.id}"


async def test_an_invitation_is_read_back_at_its_location(
    client: httpx.AsyncClient, team: Team
) -> None:
    response = await invite(client, team.owner, "Grace@Example.COM", "viewer")
    fetched = await client.get(response.headers["Location"], headers=team.owner.headers)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == response.json()
    assert fetched.json()["email"] == "grace@example.com"
    assert etag_version(fetched) == 1


async def test_inviting_again_renews_the_pending_invitation(
    client: httpx.AsyncClient, factory: Factory, team: Team, pinned: TimeMachineFixture
) -> None:
    first = await invited(client, team.owner, "grace@example.com", "viewer")
    second_owner = await factory.user()
    await factory.member("WEB", team.owner, second_owner, Role.OWNER)

    pinned.move_to(NOW + timedelta(days=3), tick=False)
    again = await invite(client, second_owner, "GRACE@example.com", "owner")

    assert again.status_code == 202, again.text
    renewed = again.json()
    assert renewed["id"] == first["id"]
    assert renewed["role"] == "owner"
    assert renewed["invited_by"] == second_owner.id
    assert renewed["version"] == 2
    assert etag_version(again) == 2
    assert datetime.fromisoformat(renewed["created_at"]) == NOW
    assert datetime.fromisoformat(renewed["updated_at"]) == NOW + timedelta(days=3)
    assert datetime.fromisoformat(renewed["expires_at"]) == NOW + timedelta(days=3) + TTL
    assert [row["id"] for row in await project_invitations(client, team.owner)] == [first["id"]]


async def test_concurrent_invitations_of_one_address_make_one(
    client: httpx.AsyncClient, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendezvous(monkeypatch, projects_repository, "project_with_role")
    responses = await asyncio.gather(
        invite(client, team.owner, "grace@example.com", "viewer"),
        invite(client, team.owner, "grace@example.com", "member"),
    )
    assert [response.status_code for response in responses] == [202, 202]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert len(await project_invitations(client, team.owner)) == 1


# --- the invitee ------------------------------------------------------------------------------


async def test_the_invitee_sees_and_accepts_the_invitation(
    client: httpx.AsyncClient, factory: Factory, team: Team, pinned: TimeMachineFixture
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com", "viewer")
    grace = await factory.user("grace@example.com")

    inbox = await client.get(MINE, headers=grace.headers)
    assert inbox.status_code == 200, inbox.text
    assert inbox.json()["next_cursor"] is None
    [seen] = inbox.json()["data"]
    assert seen == invitation
    assert seen["project_key"] == "WEB"
    assert seen["project_name"] == "Project WEB"
    assert seen["role"] == "viewer"
    assert seen["invited_by"] == team.owner.id
    assert seen["invited_by_name"] == team.owner.email.split("@")[0]
    assert datetime.fromisoformat(seen["expires_at"]) == NOW + TTL

    pinned.move_to(NOW + timedelta(hours=2), tick=False)
    accepted = await client.post(f"{MINE}/{invitation['id']}/accept", headers=grace.headers)

    assert accepted.status_code == 201, accepted.text
    assert accepted.headers["Location"] == f"{members_url()}/{grace.id}"
    assert etag_version(accepted) == 1
    member = accepted.json()
    assert member["user_id"] == grace.id
    assert member["email"] == "grace@example.com"
    assert member["role"] == "viewer"
    assert datetime.fromisoformat(member["created_at"]) == NOW + timedelta(hours=2)
    # The membership is the same as one added directly.
    fetched = await client.get(accepted.headers["Location"], headers=team.owner.headers)
    assert fetched.json() == member
    project = await client.get(f"{PROJECTS}/WEB", headers=grace.headers)
    assert project.status_code == 200
    assert project.json()["role"] == "viewer"

    assert await my_invitations(client, grace) == []
    [closed] = await project_invitations(client, team.owner, "accepted")
    assert closed["id"] == invitation["id"]
    assert closed["version"] == 2
    assert datetime.fromisoformat(closed["updated_at"]) == NOW + timedelta(hours=2)
    assert await project_invitations(client, team.owner) == []
    # Once answered, it cannot be answered again.
    again = await client.post(f"{MINE}/{invitation['id']}/accept", headers=grace.headers)
    assert_problem(again, 404)
    assert_problem(
        await client.post(f"{MINE}/{invitation['id']}/decline", headers=grace.headers), 404
    )


async def test_the_invitee_declines(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    grace = await factory.user("grace@example.com")

    declined = await client.post(f"{MINE}/{invitation['id']}/decline", headers=grace.headers)

    assert declined.status_code == 204, declined.text
    assert declined.content == b""
    assert await my_invitations(client, grace) == []
    assert [row["id"] for row in await project_invitations(client, team.owner, "declined")] == [
        invitation["id"]
    ]
    assert_problem(
        await client.post(f"{MINE}/{invitation['id']}/accept", headers=grace.headers), 404
    )
    assert_problem(await client.get(f"{PROJECTS}/WEB", headers=grace.headers), 404)
    # A declined invitation does not block a new one.
    fresh = await invited(client, team.owner, "grace@example.com")
    assert fresh["id"] != invitation["id"]


async def test_accepting_as_a_member_already_is_409_and_changes_nothing(
    client: httpx.AsyncClient, team: Team
) -> None:
    invitation = await invited(client, team.owner, team.viewer.email, "owner")

    accepted = await client.post(f"{MINE}/{invitation['id']}/accept", headers=team.viewer.headers)

    problem = assert_problem(accepted, 409)
    assert "already a member of WEB" in problem["detail"]
    assert (await member_roles(client, team.owner))[team.viewer.id] == "viewer"
    # Still open, so the viewer can clear it.
    assert [row["id"] for row in await my_invitations(client, team.viewer)] == [invitation["id"]]
    declined = await client.post(f"{MINE}/{invitation['id']}/decline", headers=team.viewer.headers)
    assert declined.status_code == 204


async def test_concurrent_accepts_make_one_membership(
    client: httpx.AsyncClient, factory: Factory, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    grace = await factory.user("grace@example.com")
    rendezvous(monkeypatch, users_repository, "user_for_token")

    responses = await asyncio.gather(
        client.post(f"{MINE}/{invitation['id']}/accept", headers=grace.headers),
        client.post(f"{MINE}/{invitation['id']}/accept", headers=grace.headers),
    )

    assert sorted(response.status_code for response in responses) == [201, 404]
    assert (await member_roles(client, team.owner))[grace.id] == "member"


# --- revoke and expiry ------------------------------------------------------------------------


async def test_owner_revokes_a_pending_invitation(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    grace = await factory.user("grace@example.com")
    url = invitations_url(invitation_id=invitation["id"])

    stale = await client.delete(url, headers={**team.owner.headers, "If-Match": '"7"'})
    assert_problem(stale, 412)
    revoked = await client.delete(url, headers={**team.owner.headers, "If-Match": '"1"'})

    assert revoked.status_code == 204, revoked.text
    assert await my_invitations(client, grace) == []
    assert_problem(
        await client.post(f"{MINE}/{invitation['id']}/accept", headers=grace.headers), 404
    )
    assert_problem(
        await client.post(f"{MINE}/{invitation['id']}/decline", headers=grace.headers), 404
    )
    fetched = await client.get(url, headers=team.owner.headers)
    assert fetched.json()["state"] == "revoked"
    assert fetched.json()["version"] == 2
    assert await project_invitations(client, team.owner) == []
    assert [row["id"] for row in await project_invitations(client, team.owner, "revoked")] == [
        invitation["id"]
    ]
    # Revoking again is a no-op; revoking an answered invitation is a conflict.
    assert (await client.delete(url, headers=team.owner.headers)).status_code == 204
    answered = await invited(client, team.owner, "grace@example.com")
    accept = await client.post(f"{MINE}/{answered['id']}/accept", headers=grace.headers)
    assert accept.status_code == 201, accept.text
    problem = assert_problem(
        await client.delete(
            invitations_url(invitation_id=answered["id"]), headers=team.owner.headers
        ),
        409,
    )
    assert "accepted" in problem["detail"]


async def test_an_invitation_expires_after_14_days(
    client: httpx.AsyncClient, factory: Factory, team: Team, pinned: TimeMachineFixture
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    grace = await factory.user("grace@example.com")
    accept = f"{MINE}/{invitation['id']}/accept"

    pinned.move_to(NOW + TTL - timedelta(seconds=1), tick=False)
    assert [row["id"] for row in await my_invitations(client, grace)] == [invitation["id"]]

    pinned.move_to(NOW + TTL, tick=False)
    assert await my_invitations(client, grace) == []
    assert_problem(await client.post(accept, headers=grace.headers), 404)
    assert_problem(
        await client.post(f"{MINE}/{invitation['id']}/decline", headers=grace.headers), 404
    )
    assert await project_invitations(client, team.owner) == []
    [expired] = await project_invitations(client, team.owner, "expired")
    assert expired["id"] == invitation["id"]
    assert expired["state"] == "expired"
    url = invitations_url(invitation_id=invitation["id"])
    assert (await client.get(url, headers=team.owner.headers)).json()["state"] == "expired"
    assert_problem(await client.delete(url, headers=team.owner.headers), 409)

    # Inviting the address again brings the same invitation back for another 14 days.
    pinned.move_to(NOW + TTL + timedelta(days=1), tick=False)
    renewed = await invited(client, team.owner, "grace@example.com", "viewer")
    assert renewed["id"] == invitation["id"]
    assert renewed["state"] == "pending"
    assert datetime.fromisoformat(renewed["expires_at"]) == NOW + 2 * TTL + timedelta(days=1)
    accepted = await client.post(accept, headers=grace.headers)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["role"] == "viewer"


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["member", "viewer"])
async def test_members_and_viewers_may_not_manage_invitations(
    client: httpx.AsyncClient, team: Team, caller: str
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    actor: Actor = getattr(team, caller)
    url = invitations_url(invitation_id=invitation["id"])

    assert_problem(await invite(client, actor, "someone@example.com"), 403)
    assert_problem(await client.get(invitations_url(), headers=actor.headers), 403)
    assert_problem(await client.get(url, headers=actor.headers), 403)
    assert_problem(await client.delete(url, headers=actor.headers), 403)
    assert [row["id"] for row in await project_invitations(client, team.owner)] == [
        invitation["id"]
    ]


async def test_outsiders_and_other_projects_get_404_alike(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    # An owner of another project cannot reach WEB's invitations through their own project.
    other = await factory.owner("OTHER")
    grace = await factory.user("grace@example.com")

    for actor, key in ((team.outsider, "WEB"), (team.outsider, "NOPE"), (grace, "WEB")):
        responses = [
            await client.get(invitations_url(key), headers=actor.headers),
            await client.get(invitations_url(key, invitation["id"]), headers=actor.headers),
            await client.delete(invitations_url(key, invitation["id"]), headers=actor.headers),
        ]
        details = {assert_problem(response, 404)["detail"] for response in responses}
        assert details == {f"No project with key {key!r}."}
    wrong_project = await client.get(
        invitations_url("OTHER", invitation["id"]), headers=other.headers
    )
    assert_problem(wrong_project, 404)
    assert_problem(
        await client.delete(invitations_url("OTHER", invitation["id"]), headers=other.headers), 404
    )
    assert len(await project_invitations(client, team.owner)) == 1


async def test_an_invitation_to_another_address_is_404_like_none(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    grace = await factory.user("grace@example.com")
    # Everyone but Grace: the owner who sent it, the project's members, an outsider.
    for actor in (team.owner, team.member, team.viewer, team.outsider):
        assert await my_invitations(client, actor) == []
        for verb in ("accept", "decline"):
            theirs = await client.post(f"{MINE}/{invitation['id']}/{verb}", headers=actor.headers)
            nothing = await client.post(f"{MINE}/987654/{verb}", headers=actor.headers)
            assert_problem(theirs, 404)
            assert_problem(nothing, 404)
            # The same answer as for an invitation that does not exist, but for the id.
            mine = f"invitation {invitation['id']} "
            assert theirs.json()["detail"].replace(mine, "invitation N ") == nothing.json()[
                "detail"
            ].replace("invitation 987654 ", "invitation N ")
    assert [row["id"] for row in await my_invitations(client, grace)] == [invitation["id"]]


async def test_invitee_routes_need_a_token(client: httpx.AsyncClient, team: Team) -> None:
    invitation = await invited(client, team.owner, "grace@example.com")
    for response in (
        await client.get(MINE),
        await client.post(f"{MINE}/{invitation['id']}/accept"),
        await client.post(f"{MINE}/{invitation['id']}/decline"),
    ):
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", invitations_url() + "?state=open", "query.state"),
        ("GET", invitations_url() + "?limit=0", "query.limit"),
        ("GET", invitations_url() + "?cursor=garbage!", "query.cursor"),
        ("GET", invitations_url(invitation_id=None) + "/abc", "path.invitation_id"),
        ("DELETE", invitations_url() + f"/{2**63}", "path.invitation_id"),
        ("GET", MINE + "?cursor=garbage!", "query.cursor"),
        ("POST", MINE + "/abc/accept", "path.invitation_id"),
        ("POST", MINE + f"/{2**63}/decline", "path.invitation_id"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, team: Team, method: str, url: str, field: str
) -> None:
    response = await client.request(method, url, headers=team.owner.headers)
    assert_problem(response, 422, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "body.email"),
        ({"email": "grace@example.com", "role": "admin"}, "body.role"),
        ({"email": "grace@example.com", "user_id": 3}, "body"),
    ],
)
async def test_invite_rejects_invalid_bodies(
    client: httpx.AsyncClient, team: Team, body: dict[str, Any], field: str
) -> None:
    response = await client.post(members_url(), headers=team.owner.headers, json=body)
    assert_problem(response, 422, field)
    assert await project_invitations(client, team.owner) == []


async def test_my_invitations_paginate_across_projects(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    grace = await factory.user("grace@example.com")
    ids = []
    for key in ("AAA", "BBB", "CCC"):
        owner = await factory.owner(key)
        ids.append((await invited(client, owner, "grace@example.com", key=key))["id"])

    first = await client.get(MINE, headers=grace.headers, params={"limit": 2})
    assert [row["project_key"] for row in first.json()["data"]] == ["AAA", "BBB"]
    assert first.headers["Link"].endswith('rel="next"')
    rest = await client.get(
        MINE, headers=grace.headers, params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert [row["project_key"] for row in rest.json()["data"]] == ["CCC"]
    assert rest.json()["next_cursor"] is None
    assert [row["id"] for row in await my_invitations(client, grace)] == ids


async def test_an_invite_replays_under_its_idempotency_key(
    client: httpx.AsyncClient, team: Team
) -> None:
    headers = {**team.owner.headers, "Idempotency-Key": "invite-grace"}
    body = {"email": "grace@example.com", "role": "viewer"}
    first = await client.post(members_url(), headers=headers, json=body)
    replay = await client.post(members_url(), headers=headers, json=body)
    assert first.status_code == replay.status_code == 202
    assert replay.headers.get("Idempotency-Replayed") == "true"
    assert replay.json() == first.json()


# --- the pending cap --------------------------------------------------------------------------


async def test_a_project_holds_at_most_100_pending_invitations(
    client: httpx.AsyncClient, team: Team
) -> None:
    assert invitations_service.MAX_PENDING_INVITATIONS == 100
    sent = [await invited(client, team.owner, f"guest{n}@example.com") for n in range(100)]

    over = await invite(client, team.owner, "one-more@example.com")

    problem = assert_problem(over, 409)
    assert problem["detail"].startswith("WEB has 100 pending invitations")
    assert "at most 100" in problem["detail"]
    # Renewing an open invitation adds none, so it still works at the cap.
    assert (await invite(client, team.owner, "guest7@example.com", "viewer")).status_code == 202
    # Revoking one makes room.
    revoked = await client.delete(
        invitations_url(invitation_id=sent[0]["id"]), headers=team.owner.headers
    )
    assert revoked.status_code == 204
    assert (await invite(client, team.owner, "one-more@example.com")).status_code == 202
    assert_problem(await invite(client, team.owner, "and-another@example.com"), 409)
    assert len(await project_invitations(client, team.owner)) == 100


async def test_expired_invitations_do_not_count_but_count_again_when_renewed(
    client: httpx.AsyncClient,
    team: Team,
    pinned: TimeMachineFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(invitations_service, "MAX_PENDING_INVITATIONS", 2)
    await invited(client, team.owner, "old@example.com")
    pinned.move_to(NOW + timedelta(days=10), tick=False)
    await invited(client, team.owner, "newer@example.com")
    assert_problem(await invite(client, team.owner, "third@example.com"), 409)

    pinned.move_to(NOW + TTL, tick=False)  # old@ has expired: one pending left
    await invited(client, team.owner, "third@example.com")
    # Bringing old@ back would make three pending.
    problem = assert_problem(await invite(client, team.owner, "old@example.com"), 409)
    assert "2 pending invitations" in problem["detail"]


async def test_concurrent_invitations_cannot_pass_the_cap_together(
    client: httpx.AsyncClient, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invitations_service, "MAX_PENDING_INVITATIONS", 3)
    for n in range(2):
        await invited(client, team.owner, f"guest{n}@example.com")
    # Both requests pass the role check together, and each holds a moment after counting, so
    # without the project lock both would count 2 and both insert.
    rendezvous(monkeypatch, projects_repository, "project_with_role")
    pause_after(monkeypatch, invitations_repository, "count_pending")

    responses = await asyncio.gather(
        invite(client, team.owner, "racer-a@example.com"),
        invite(client, team.owner, "racer-b@example.com"),
    )

    assert sorted(response.status_code for response in responses) == [202, 409], [
        response.text for response in responses
    ]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)
    assert len(await project_invitations(client, team.owner)) == 3


async def test_an_invitation_does_not_outlive_its_inviters_ownership(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    """Found in review: a removed owner could come back through an invitation sent earlier."""
    co_owner = await factory.user()
    await factory.member("WEB", team.owner, co_owner, Role.OWNER)
    invitation = await invited(client, co_owner, "second-self@example.com", "owner")
    removed = await client.delete(f"{members_url()}/{co_owner.id}", headers=team.owner.headers)
    assert removed.status_code == 204, removed.text

    second_self = await factory.user("second-self@example.com")
    accepted = await client.post(f"{MINE}/{invitation['id']}/accept", headers=second_self.headers)
    assert_problem(accepted, 404)
    assert_problem(await client.get("/api/v1/projects/WEB", headers=second_self.headers), 404)

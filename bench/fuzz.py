"""Fuzz (`make fuzz`): Schemathesis over every operation of openapi.json but the two endless
live streams, against a live `timebox serve`, signed in as a project MEMBER, with path
parameters naming real resources.

Run: `.venv/bin/python -m bench.fuzz` (a larger budget) or `--ci` (bounded, seeded and
derandomised, so CI is repeatable). The server gets a throw-away database as bench.load's does
and listens on 127.0.0.1. The checks are not_a_server_error, status_code_conformance,
content_type_conformance and response_schema_conformance (bench/schemathesis.toml, which also
says how each destructive operation is kept from wrecking the run). Schemathesis prints every
failure with a curl command that reproduces it; exits 1 on any failure.
"""

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.backlog import item_payload
from bench.harness import ROOT, bench_database, free_port, join, server
from bench.load import Actor, admin_url, register, sign_in

ST = str(Path(sys.executable).with_name("st"))
CONFIG = ROOT / "bench" / "schemathesis.toml"
KEY = "FZ"
# /metrics is off unless a token is configured: the fuzzed server gets one, so it answers.
METRICS_TOKEN = secrets.token_urlsafe(24)
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


async def seed(base: str) -> dict[str, str]:
    """The fuzzed project and a spare of everything destructive operations need; their ids as
    the FUZZ_* variables bench/schemathesis.toml reads."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        owner = await register(client, "fuzz-owner@example.com", "Fuzz owner")
        member = await register(client, "fuzz-member@example.com", "Fuzz member")
        other = await register(client, "fuzz-other@example.com", "Fuzz other")

        async def call(actor: Actor, method: str, url: str, **kwargs: Any) -> Any:
            response = await client.request(method, url, headers=actor.headers, **kwargs)
            if response.status_code >= 400:
                raise RuntimeError(f"seed: {method} {url}: {response.status_code} {response.text}")
            return response.json() if response.content else None

        async def project(key: str) -> str:
            await call(owner, "POST", "/api/v1/projects", json={"key": key, "name": key})
            path = f"/api/v1/projects/{key}"
            for person in (member, other):
                await join(client, path, owner.headers, person.headers, person.email)
            return path

        path = await project(KEY)
        spare_key = "FZX"
        await project(spare_key)
        statuses = (await call(owner, "GET", f"{path}/statuses"))["data"]
        spare_status = await call(
            owner, "POST", f"{path}/statuses", json={"name": "Spare", "category": "in_progress"}
        )
        rng = random.Random(3)
        items = [dict(item_payload(rng, n)) for n in range(30)]
        items.append({"title": "An epic", "type": "epic"})
        await call(member, "POST", f"{path}/items/batch", json={"items": items})
        done = next(s["id"] for s in statuses if s["category"] == "done")
        completed = (await call(member, "POST", f"{path}/sprints", json={}))["number"]
        await call(member, "POST", f"{path}/sprints/{completed}/items", json={"items": [1, 2, 3]})
        await call(member, "POST", f"{path}/sprints/{completed}/start")
        await call(member, "PATCH", f"{path}/items/1", json={"status_id": done})
        await call(member, "POST", f"{path}/sprints/{completed}/complete", json={})
        active = (await call(member, "POST", f"{path}/sprints", json={}))["number"]
        await call(member, "POST", f"{path}/sprints/{active}/items", json={"items": [4, 5, 6, 7]})
        await call(member, "POST", f"{path}/sprints/{active}/start")
        planned = (await call(member, "POST", f"{path}/sprints", json={}))["number"]
        await call(member, "POST", f"{path}/sprints/{planned}/items", json={"items": [8, 9]})
        spare_sprint = (await call(member, "POST", f"{path}/sprints", json={}))["number"]
        cancel_sprint = (await call(member, "POST", f"{path}/sprints", json={}))["number"]
        comment = await call(member, "POST", f"{path}/items/10/comments", json={"body": "Keep"})
        spare_comment = await call(
            member, "POST", f"{path}/items/10/comments", json={"body": "Delete me"}
        )
        spare_token = await call(member, "POST", "/api/v1/me/tokens", json={"name": "spare"})
        invitations = []
        for key in ("FZA", "FZB"):
            await call(owner, "POST", "/api/v1/projects", json={"key": key, "name": key})
            invited = await client.post(
                f"/api/v1/projects/{key}/members",
                json={"email": member.email, "role": "member"},
                headers=owner.headers,
            )
            # An invitation (202) where the app has them; a direct membership (201) before.
            invitations.append(str(invited.json()["id"]) if invited.status_code == 202 else "0")
        return {
            "FUZZ_KEY": KEY,
            "FUZZ_METRICS_TOKEN": METRICS_TOKEN,
            "FUZZ_TOKEN": member.headers["Authorization"].removeprefix("Bearer "),
            "FUZZ_LOGOUT_TOKEN": (await sign_in(client, member.email))["Authorization"][7:],
            "FUZZ_OTHER_TOKEN": other.headers["Authorization"].removeprefix("Bearer "),
            "FUZZ_USER": str(member.user_id),
            "FUZZ_OTHER_USER": str(other.user_id),
            "FUZZ_STATUS": str(statuses[0]["id"]),
            "FUZZ_SPARE_STATUS": str(spare_status["id"]),
            "FUZZ_ITEM": "10",
            "FUZZ_SPARE_ITEM": "30",
            "FUZZ_COMMENT": str(comment["id"]),
            "FUZZ_SPARE_COMMENT": str(spare_comment["id"]),
            "FUZZ_ACTIVE_SPRINT": str(active),
            "FUZZ_PLANNED_SPRINT": str(planned),
            "FUZZ_SPARE_SPRINT": str(spare_sprint),
            "FUZZ_CANCEL_SPRINT": str(cancel_sprint),
            "FUZZ_SPARE_KEY": spare_key,
            "FUZZ_SPARE_TOKEN": str(spare_token["id"]),
            "FUZZ_INVITATION": invitations[0],
            "FUZZ_DECLINED_INVITATION": invitations[1],
        }


async def still_member(base: str, token: str) -> bool:
    """After the run the member's token still works and FZ is still theirs: the run tested
    real resources to the end, not 401s and 404s."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.get(
            f"/api/v1/projects/{KEY}", headers={"Authorization": f"Bearer {token}"}
        )
    print(f"after the run: GET /api/v1/projects/{KEY} as the member → {response.status_code}")
    return response.status_code == 200


def command(base: str, args: argparse.Namespace) -> list[str]:
    """The `st run` command line."""
    line = [
        ST,
        "--config-file",
        str(CONFIG),
        "run",
        str(ROOT / "openapi.json"),
        "--url",
        base,
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--no-color",
    ]
    if args.ci:
        # Repeatable: no random variation (and so no example database carried between runs).
        line += ["--generation-deterministic"]
    if args.max_time:
        line += ["--max-time", str(args.max_time)]
    return line


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ci", action="store_true", help="CI budget: 10 examples, derandomised")
    parser.add_argument("--max-examples", type=int, help="test cases per operation (100; CI 10)")
    parser.add_argument("--max-time", type=int, help="seconds Schemathesis may spend (none)")
    parser.add_argument("--seed", type=int, default=1, help="Schemathesis seed (1)")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="give up (and fail) after this long (1800)"
    )
    args = parser.parse_args(argv)
    if args.max_examples is None:
        args.max_examples = 10 if args.ci else 100
    return args


def main(args: argparse.Namespace) -> bool:
    with (
        bench_database(admin_url()) as url,
        server(
            url, port=free_port(), env={"TIMEBOX_METRICS_TOKEN": METRICS_TOKEN}, log_name="fuzz"
        ) as base,
    ):
        values = asyncio.run(seed(base))
        started = time.perf_counter()
        line = command(base, args)
        print(" ".join(line), flush=True)
        try:
            finished = subprocess.run(
                line, env={**os.environ, **values}, timeout=args.timeout, check=False
            )
            code = finished.returncode
        except subprocess.TimeoutExpired:
            print(f"schemathesis did not finish in {args.timeout:g} s")
            code = -1
        print(f"schemathesis: exit {code} after {time.perf_counter() - started:.0f} s")
        alive = asyncio.run(still_member(base, values["FUZZ_TOKEN"]))
        return code == 0 and alive


if __name__ == "__main__":
    passed = main(parse(sys.argv[1:]))
    print("\nfuzz: PASS" if passed else "\nfuzz: FAIL")
    sys.exit(0 if passed else 1)

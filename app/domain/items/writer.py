"""The item write path: every change to a tracked item field goes through `Writer`.

It appends an event for each change in the same transaction, so history, burndown, flow,
sprint reports and the activity feed, all read from that log, see every change. Other areas
(sprints moving items in and out, statuses being deleted) write items through it too.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import public_events, repository
from app.domain.items.events import TRACKED, log_value
from app.domain.items.models import EventKind, Item, ItemEvent
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput
from app.domain.kernel.versioning import bump
from app.domain.projects.access import ProjectAccess
from app.domain.releases import repository as releases_repository
from app.domain.retros.actions import repository as actions_repository
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.models import Sprint
from app.domain.workflow import repository as workflow_repository
from app.domain.workflow.models import Status, StatusCategory


class _Unknown:
    """Not looked up yet."""


_UNKNOWN = _Unknown()


def enter_status(item: Item, status: Status) -> None:
    """Keep done_at in step with the status: stamped on entering a done one, cleared on leaving.

    The only other place done_at changes is `repository.set_done_for_status`, the same rule in
    bulk SQL for when a status itself starts or stops counting as done.
    """
    if status.category != StatusCategory.DONE:
        item.done_at = None
    elif item.done_at is None:
        item.done_at = clock.now()


@dataclass
class Writer:
    """One request's view of a project for item writes: its statuses, scale and actor."""

    session: AsyncSession
    access: ProjectAccess
    statuses: dict[int, Status] = field(default_factory=dict)
    _parent_numbers: dict[int, int] = field(default_factory=dict)
    _sprint_numbers: dict[int, int] = field(default_factory=dict)
    _release_numbers: dict[int, int] = field(default_factory=dict)
    # New items of this request bound for each status, not inserted yet (WIP counting).
    _arriving: dict[int, int] = field(default_factory=dict)
    _active_sprint: Sprint | _Unknown | None = _UNKNOWN

    @property
    def project_id(self) -> int:
        """The project written to."""
        return self.access.project_id

    @property
    def actor_id(self) -> int | None:
        """Who is writing."""
        return self.access.user.id

    async def load_statuses(self) -> dict[int, Status]:
        """The project's statuses by id (loaded once per request)."""
        if not self.statuses:
            rows = await workflow_repository.list_statuses(self.session, self.project_id)
            self.statuses = {row.id: row for row in rows if row.id is not None}
        return self.statuses

    async def default_status(self) -> Status:
        """Where new items start: the first `todo` status, else the first status."""
        statuses = sorted((await self.load_statuses()).values(), key=lambda s: s.position)
        todo = [s for s in statuses if s.category == StatusCategory.TODO]
        if not statuses:
            raise Conflict("The project has no workflow statuses.")
        return (todo or statuses)[0]

    def event(self, item: Item, kind: EventKind, name: str | None, old: Any, new: Any) -> None:
        """Append one event for `item` to this transaction."""
        assert item.id is not None
        self.log_event(item.id, item.number, kind, name, old, new)

    def log_event(
        self, item_id: int, number: int, kind: EventKind, name: str | None, old: Any, new: Any
    ) -> None:
        """Append one event for an item known by id and number (a rebalance has no rows)."""
        self.session.add(
            ItemEvent(
                project_id=self.project_id,
                item_id=item_id,
                item_number=number,
                actor_id=self.actor_id,
                kind=kind,
                field=name,
                old_value=old,
                new_value=new,
            )
        )

    def know_sprint(self, sprint_id: int, number: int) -> None:
        """Remember a sprint's number (found while validating), so logging need not look it up."""
        self._sprint_numbers[sprint_id] = number

    def know_release(self, release_id: int, number: int) -> None:
        """Remember a release's number (found while validating)."""
        self._release_numbers[release_id] = number

    async def release_number(self, release_id: int | None) -> int | None:
        """The number of a release (cached)."""
        if release_id is None:
            return None
        if release_id not in self._release_numbers:
            numbers = await releases_repository.release_numbers(
                self.session, self.project_id, [release_id]
            )
            self._release_numbers.update(numbers)
        return self._release_numbers[release_id]

    def know_parent(self, parent_id: int, number: int) -> None:
        """Remember a parent epic's number (found while validating)."""
        self._parent_numbers[parent_id] = number

    async def sprint_number(self, sprint_id: int | None) -> int | None:
        """The number of a sprint (cached)."""
        if sprint_id is None:
            return None
        if sprint_id not in self._sprint_numbers:
            numbers = await sprints_repository.sprint_numbers(
                self.session, self.project_id, [sprint_id]
            )
            self._sprint_numbers.update(numbers)
        return self._sprint_numbers[sprint_id]

    async def parent_number(self, parent_id: int | None) -> int | None:
        """The number of a parent item (cached)."""
        if parent_id is None:
            return None
        if parent_id not in self._parent_numbers:
            rows = await repository.item_rows_by_ids(self.session, self.project_id, [parent_id])
            self._parent_numbers[parent_id] = rows[0].item.number
        return self._parent_numbers[parent_id]

    async def write(self, item: Item, changes: dict[str, Any]) -> bool:
        """Apply column changes to a stored item, logging each tracked one; bumps the version.

        This is the only way item fields change after creation.
        """
        changed = finished = False
        for column, value in changes.items():
            old = getattr(item, column)
            if old == value:
                continue
            if column == "status_id":
                was_done = item.done_at is not None
                enter_status(item, (await self.load_statuses())[value])
                finished = item.done_at is not None and not was_done
            setattr(item, column, value)
            changed = True
            if column in TRACKED:
                if column == "parent_id":
                    old_value: Any = await self.parent_number(old)
                    new_value: Any = await self.parent_number(value)
                elif column == "sprint_id":
                    old_value = await self.sprint_number(old)
                    new_value = await self.sprint_number(value)
                elif column == "release_id":
                    old_value = await self.release_number(old)
                    new_value = await self.release_number(value)
                else:
                    old_value, new_value = log_value(column, old), log_value(column, value)
                kind = EventKind.MOVED if column == "rank" else EventKind.UPDATED
                self.event(item, kind, TRACKED[column], old_value, new_value)
                await self._publish(item, column, old, old_value, new_value)
        if changed:
            bump(item)
        if finished:
            # Finishing the item finishes the retro action made from it (logged over there).
            assert item.id is not None and item.done_at is not None
            await actions_repository.complete_for_items(
                self.session,
                self.project_id,
                self.access.project.key,
                [item.id],
                self.actor_id,
                item.done_at,
            )
        return changed

    async def _publish(
        self, item: Item, column: str, old_id: Any, old_value: Any, new_value: Any
    ) -> None:
        """Publish a logged change: a move up or down, or a field of `item.updated`."""
        if column == "rank":
            public_events.moved(self.session, self.access, item, old_value, new_value)
            return
        status_name = self.statuses[new_value].name if column == "status_id" else None
        public_events.changed(
            self.session, self.access, item, TRACKED[column], old_value, new_value, status_name
        )
        if column == "sprint_id":
            active = await self.active_sprint()
            if active is not None and active.id in (old_id, item.sprint_id):
                public_events.scope_changed(
                    self.session, self.access, active, item, joined=item.sprint_id == active.id
                )

    async def active_sprint(self) -> Sprint | None:
        """The project's active sprint, looked up once per request (scope changes)."""
        if self._active_sprint is _UNKNOWN:
            self._active_sprint = await sprints_repository.active_sprint(
                self.session, self.project_id
            )
        assert not isinstance(self._active_sprint, _Unknown)
        return self._active_sprint

    async def check_wip(self, status_id: int, item_id: int | None, field_name: str) -> None:
        """Lock the status an item enters; 409 when WIP limits are enforced and it is full."""
        status = (await self.load_statuses())[status_id]
        enforced = self.access.project.enforce_wip_limits and status.wip_limit is not None
        # An exclusive lock keeps two moves into the last free slot from both passing; a shared
        # one keeps a concurrent deletion of the status from turning this write into a 500.
        if not await workflow_repository.lock_status(self.session, status_id, exclusive=enforced):
            raise InvalidInput.for_field(
                field_name, f"Status {status_id} has just been deleted.", "unknown"
            )
        if not enforced or status.wip_limit is None:
            return
        # A batch's earlier entries count too: flush its updates, add its pending new items.
        await self.session.flush()
        count = await repository.count_in_status(
            self.session, self.project_id, status_id, exclude_id=item_id
        ) + self._arriving.get(status_id, 0)
        if count >= status.wip_limit:
            raise Conflict(
                f"'{status.name}' is at its WIP limit of {status.wip_limit}.",
                errors=[
                    FieldError(
                        field=field_name,
                        message=f"WIP limit {status.wip_limit} reached",
                        type="wip_limit",
                    )
                ],
            )
        if item_id is None:
            self._arriving[status_id] = self._arriving.get(status_id, 0) + 1

"""The open-exposure trend as a pure replay of logged risk changes."""

from datetime import UTC, date, datetime, timedelta

from app.domain.risks.trend import LoggedChange, Week, open_exposure_by_week

MONDAY = date(2026, 11, 2)


def moment(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, 2, hour, tzinfo=UTC) + timedelta(days=day)


def weeks(count: int, *, current: bool = False) -> list[Week]:
    found = []
    for index in range(count):
        start = MONDAY + timedelta(weeks=index)
        until = datetime.combine(start + timedelta(days=7), datetime.min.time(), UTC)
        last = current and index == count - 1
        found.append(Week(start, start + timedelta(days=6), until, None if last else until))
    return found


def created(
    risk: int, day: int, probability: int, impact: int, status: str = "open"
) -> LoggedChange:
    value = {"probability": probability, "impact": impact, "status": status, "title": "t"}
    return LoggedChange(risk, moment(day), "created", value)


def test_each_week_counts_the_open_risks_at_its_end() -> None:
    changes = [
        created(1, 0, 3, 4),
        created(2, 1, 2, 2, "mitigating"),
        created(3, 2, 5, 5, "closed"),  # never open: never counted
        LoggedChange(1, moment(8), "probability", 5),
        LoggedChange(2, moment(9), "status", "occurred"),
        LoggedChange(2, moment(16), "status", "open"),
        LoggedChange(2, moment(17), "impact", 5),
        LoggedChange(1, moment(18), "status", "closed"),
    ]
    measured = open_exposure_by_week(changes, weeks(4))
    assert [(w.open_exposure, w.open_risks) for w in measured] == [
        (16, 2),
        (20, 1),
        (10, 1),
        (10, 1),
    ]
    assert [w.week for w in measured] == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]


def test_a_change_at_the_week_boundary_belongs_to_the_next_week() -> None:
    boundary = datetime(2026, 11, 9, tzinfo=UTC)
    changes = [
        created(1, 0, 2, 2),
        LoggedChange(1, boundary - timedelta(microseconds=1), "impact", 3),
        LoggedChange(1, boundary, "impact", 5),
    ]
    assert [w.open_exposure for w in open_exposure_by_week(changes, weeks(2))] == [6, 10]


def test_the_week_under_way_counts_everything_logged() -> None:
    changes = [created(1, 0, 2, 2), LoggedChange(1, moment(30), "probability", 4)]
    measured = open_exposure_by_week(changes, weeks(2, current=True))
    assert [w.open_exposure for w in measured] == [4, 8]


def test_changes_without_their_creation_and_unknown_fields_are_ignored() -> None:
    changes = [
        LoggedChange(9, moment(0), "probability", 5),
        created(1, 1, 1, 3),
        LoggedChange(1, moment(2), "title", "renamed"),
    ]
    assert [w.open_exposure for w in open_exposure_by_week(changes, weeks(1))] == [3]
    assert open_exposure_by_week([], weeks(1))[0].open_risks == 0

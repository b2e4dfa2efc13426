"""Action follow-up figures, worked out by hand."""

from datetime import date

from app.domain.metrics.actions import ActionFacts, ActionTally, tally, tally_by

DEC = 12


def day(n: int) -> date:
    return date(2026, DEC, n)


def test_no_actions_has_no_rate_and_no_median() -> None:
    assert tally([]) == ActionTally(0, 0, 0, 0, None, None)


def test_counts_rate_and_median_over_done_actions() -> None:
    facts = [
        ActionFacts("done", day(1), day(4)),  # 3 days
        ActionFacts("done", day(1), day(11)),  # 10 days
        ActionFacts("done", day(2), day(3)),  # 1 day
        ActionFacts("done", day(5), day(5)),  # same day: 0 days
        ActionFacts("dropped", day(1)),
        ActionFacts("open", day(7)),
        ActionFacts("open", day(8)),
        ActionFacts("open", day(9)),
    ]

    result = tally(facts)

    # 4 of 8 done; days to close sorted 0, 1, 3, 10: the median is (1 + 3) / 2.
    assert result == ActionTally(
        created=8, done=4, dropped=1, open=3, completion_rate=0.5, median_days_to_close=2.0
    )


def test_odd_number_of_done_actions_takes_the_middle_one() -> None:
    facts = [
        ActionFacts("done", day(1), day(2)),  # 1
        ActionFacts("done", day(1), day(31)),  # 30
        ActionFacts("done", day(10), day(17)),  # 7
    ]

    assert tally(facts).median_days_to_close == 7.0
    assert tally(facts).completion_rate == 1.0


def test_nothing_done_has_a_zero_rate_and_no_median() -> None:
    result = tally([ActionFacts("dropped", day(1)), ActionFacts("open", day(2))])

    assert (result.completion_rate, result.median_days_to_close) == (0.0, None)
    assert (result.created, result.dropped, result.open) == (2, 1, 1)


def test_a_done_fact_without_a_day_counts_as_done_but_not_in_the_median() -> None:
    result = tally([ActionFacts("done", day(1)), ActionFacts("done", day(1), day(5))])

    assert (result.done, result.median_days_to_close) == (2, 4.0)


def test_tally_by_keeps_empty_groups_and_adds_unnamed_ones() -> None:
    facts = [
        ("r1", ActionFacts("done", day(1), day(3))),
        ("r1", ActionFacts("open", day(1))),
        (None, ActionFacts("dropped", day(2))),
    ]

    result = tally_by(["r1", "r2"], facts)

    assert result == {
        "r1": ActionTally(2, 1, 0, 1, 0.5, 2.0),
        "r2": ActionTally(0, 0, 0, 0, None, None),
        None: ActionTally(1, 0, 1, 0, 0.0, None),
    }
    assert list(result) == ["r1", "r2", None]

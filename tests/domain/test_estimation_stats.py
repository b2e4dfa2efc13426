"""Planning-poker reveal statistics, worked out by hand on the project scales."""

from app.domain.estimation.service import scale_points
from app.domain.metrics.estimation import reveal_stats, snap

FIB = scale_points("fibonacci")  # 0 1 2 3 5 8 13 21 40 100
TSHIRT = scale_points("tshirt")  # XS=1 S=2 M=3 L=5 XL=8 XXL=13


def test_a_close_vote_with_unsure_and_coffee() -> None:
    stats = reveal_stats(FIB, ["3", "5", "5", "8", "?", "coffee"])
    # Numeric 3, 5, 5, 8: median (5 + 5) / 2 = 5; 3 to 8 is two steps (3→5→8), no discussion.
    assert stats.numeric_votes == 4
    assert (stats.unsure, stats.coffee) == (1, 1)
    assert (stats.min, stats.max, stats.min_value, stats.max_value) == ("3", "8", 3.0, 8.0)
    assert stats.spread == 5.0
    assert stats.spread_steps == 2
    assert stats.discuss is False
    assert (stats.median, stats.median_value) == ("5", 5.0)
    assert stats.mode == ("5",)


def test_a_wide_vote_asks_for_discussion_and_lists_a_tied_mode() -> None:
    stats = reveal_stats(FIB, ["13", "2"])
    # 2 to 13 is four steps (2→3→5→8→13); median 7.5 is 0.5 from 8 and 2.5 from 5.
    assert stats.spread == 11.0
    assert stats.spread_steps == 4
    assert stats.discuss is True
    assert stats.median == "8"
    assert stats.mode == ("2", "13")


def test_a_median_exactly_between_two_values_takes_the_higher() -> None:
    # 2 and 3: median 2.5, 0.5 from both.
    assert reveal_stats(FIB, ["2", "3"]).median == "3"
    # 3, 5, 8, 13: median (5 + 8) / 2 = 6.5, 1.5 from both 5 and 8.
    assert reveal_stats(FIB, ["3", "5", "8", "13"]).median == "8"
    # 3 and 8: median 5.5 is 0.5 from 5, 2.5 from 8.
    assert reveal_stats(FIB, ["8", "3"]).median == "5"


def test_three_steps_is_more_than_two() -> None:
    stats = reveal_stats(FIB, ["2", "8"])  # 2→3→5→8
    assert (stats.spread_steps, stats.discuss) == (3, True)
    assert stats.median == "5"  # 5 exactly


def test_tshirt_sizes_use_their_numbers() -> None:
    stats = reveal_stats(TSHIRT, ["S", "XL", "S"])
    # S=2, XL=8: median of 2, 2, 8 is 2 → S; spread 6 over S→M→L→XL, three steps.
    assert (stats.min, stats.max, stats.spread, stats.spread_steps) == ("S", "XL", 6.0, 3)
    assert stats.median == "S"
    assert stats.mode == ("S",)
    # S and XL alone: median 5 is L exactly.
    assert reveal_stats(TSHIRT, ["S", "XL"]).median == "L"


def test_no_numeric_votes_gives_no_figures() -> None:
    stats = reveal_stats(FIB, ["?", "coffee", "?"])
    assert (stats.numeric_votes, stats.unsure, stats.coffee) == (0, 2, 1)
    assert stats.min is None and stats.max is None and stats.spread is None
    assert stats.median is None and stats.spread_steps is None
    assert stats.mode == ()
    assert stats.discuss is False


def test_labels_of_another_scale_count_as_nothing() -> None:
    stats = reveal_stats(FIB, ["M", "4", "5"])
    assert stats.numeric_votes == 1
    assert (stats.unsure, stats.coffee) == (0, 0)
    assert stats.median == "5"


def test_snap_goes_to_the_nearest_value_and_up_on_a_tie() -> None:
    assert snap(2.5, FIB).label == "3"
    assert snap(2.4, FIB).label == "2"
    assert snap(70, FIB).label == "100"  # 30 from 40 and from 100
    assert snap(500, FIB).label == "100"
    assert snap(-1, FIB).label == "0"

"""The queue's pure parts: which days it reads, its filters as an address, its page links."""

from __future__ import annotations

import pytest

from server.office import open_items
from server.office.open_items import open_ranges
from server.office.queue_filter import FilterError, QueueFilter, page_links


def test_a_day_is_read_only_while_it_has_more_raised_than_resolved() -> None:
    raised = {"2026-10-01": 2, "2026-10-02": 3, "2026-10-03": 1, "2026-10-04": 4, "2026-10-05": 1}
    closed = {"2026-10-01": 2, "2026-10-02": 1, "2026-10-03": 1, "2026-10-04": 1}
    assert open_ranges("seal_damaged", raised, closed) == [
        ("2026-10-02", "2026-10-02"),
        ("2026-10-04", "2026-10-05"),  # consecutive open days: one range
    ]
    assert open_ranges("seal_damaged", raised, raised) == []  # every day closed: nothing to read
    assert open_ranges("seal_damaged", raised, {}) == [None]  # every day open: the whole kind


def test_kinds_that_end_by_themselves_and_items_without_a_day_are_always_read() -> None:
    raised = {None: 1, "2026-10-01": 1, "2026-10-02": 1}
    closed = {"2026-10-01": 1, "2026-10-02": 1}
    assert open_ranges("seal_damaged", raised, closed) == [(None, None)]
    assert open_ranges("photo_missing", raised, closed) == [None]
    # More resolved than raised says a count went wrong: read the day rather than trust it.
    assert open_ranges("seal_damaged", {"2026-10-01": 1}, {"2026-10-01": 2}) == [None]


def test_too_many_stretches_are_joined_across_the_fewest_closed_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_items, "MAX_RANGES", 2)
    raised = {"d1": 1, "d2": 50, "d3": 1, "d4": 2, "d5": 1}
    closed = {"d2": 50, "d4": 2}
    assert open_ranges("unsigned", raised, closed) == [("d1", "d1"), ("d3", "d5")]  # d4's 2 rows, not d2's 50


def test_a_filter_is_an_address_and_an_unknown_one_is_refused() -> None:
    wanted = QueueFilter.parse({"kind": "lost", "courier": "Gojek.Andi", "age": "3", "page": "2"})
    assert wanted == QueueFilter("lost", "gojek.andi", None, "3", 2)
    assert wanted.params() == {"kind": "lost", "courier": "gojek.andi", "age": "3", "page": "2"}
    assert wanted.params(kind=None) == {"courier": "gojek.andi", "age": "3"}  # a new filter: page one
    assert wanted.params(page=3)["page"] == "3"
    assert QueueFilter.parse({"page": "x"}).page == 0
    for bad in ({"kind": "delete"}, {"age": "30"}, {"partner": "ojek"}, {"courier": "<b>"}):
        with pytest.raises(FilterError):
            QueueFilter.parse(bad)


def test_page_links_show_the_ends_and_the_neighbourhood() -> None:
    assert page_links(0, 1) == [0]
    assert page_links(0, 12) == [0, 1, 2, None, 11]
    assert page_links(6, 12) == [0, None, 4, 5, 6, 7, 8, None, 11]
    assert page_links(11, 12) == [0, None, 9, 10, 11]

"""First-response deadlines: office hours, Belgian holidays, clock changes, round-the-clock plans."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from pydantic import ValidationError

from classifier.sla import SlaPolicy, first_response_deadline

BRUSSELS = ZoneInfo("Europe/Brussels")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def deadline(received: str, priority: str, plan: str | None = None, **policy) -> str:
    """The deadline as ISO text, so a wrong UTC offset fails the comparison too."""
    sla_policy = SlaPolicy(**policy) if policy else None
    return first_response_deadline(at(received), priority, plan, sla_policy).isoformat()


# --- the cases from the issue --------------------------------------------------------------------


def test_p1_on_friday_afternoon_continues_on_monday():
    assert deadline("2026-03-13T16:30:00+01:00", "P1") == "2026-03-16T10:30:00+01:00"


def test_the_package_knows_christmas_but_not_boxing_day_as_belgian_public_holiday():
    # 26 December is only a bank holiday in Belgium (`holidays` category "bank", not "public").
    belgian = holidays.country_holidays("BE", years=2025)
    assert date(2025, 12, 25) in belgian
    assert date(2025, 12, 26) not in belgian


def test_p4_on_christmas_eve_skips_christmas_day_and_the_weekend():
    # Wed 24 Dec 10:00-17:00 is 7 h, Thu 25 is Christmas, Fri 26 gives 8 h (15 h), the last hour
    # falls on Monday 29 December.
    assert deadline("2025-12-24T10:00:00+01:00", "P4") == "2025-12-29T10:00:00+01:00"


def test_p3_on_saturday_night_before_spring_clock_change_ends_monday_in_summer_time():
    assert deadline("2026-03-28T23:00:00+01:00", "P3") == "2026-03-30T17:00:00+02:00"


def test_premium_p1_on_sunday_night_is_counted_round_the_clock():
    assert deadline("2026-03-15T03:00:00+01:00", "P1", "premium") == "2026-03-15T05:00:00+01:00"


# --- office hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "priority", "expected"),
    [
        # Inside office hours, finished the same day.
        ("2026-03-10T10:15:00+01:00", "P1", "2026-03-10T12:15:00+01:00"),
        ("2026-03-10T11:00:00+01:00", "P2", "2026-03-10T15:00:00+01:00"),
        # A deadline landing exactly at closing time stays at 17:00, not 09:00 next day.
        ("2026-03-10T15:00:00+01:00", "P1", "2026-03-10T17:00:00+01:00"),
        ("2026-03-10T09:00:00+01:00", "P3", "2026-03-10T17:00:00+01:00"),
        # Before opening: counting starts at 09:00.
        ("2026-03-11T07:40:00+01:00", "P2", "2026-03-11T13:00:00+01:00"),
        # After closing (and exactly at closing): counting starts at the next opening.
        ("2026-03-09T18:00:00+01:00", "P1", "2026-03-10T11:00:00+01:00"),
        ("2026-03-09T17:00:00+01:00", "P2", "2026-03-10T13:00:00+01:00"),
        # Partly today, the rest tomorrow.
        ("2026-03-10T14:30:00+01:00", "P3", "2026-03-11T14:30:00+01:00"),
        # Weekend: nothing is counted until Monday 09:00.
        ("2026-03-14T12:00:00+01:00", "P2", "2026-03-16T13:00:00+01:00"),
        ("2026-03-15T03:00:00+01:00", "P1", "2026-03-16T11:00:00+01:00"),
        # P4 over two full days: two times 8 h, ending at closing time.
        ("2026-03-10T09:00:00+01:00", "P4", "2026-03-11T17:00:00+01:00"),
    ],
)
def test_office_hours(received, priority, expected):
    assert deadline(received, priority) == expected


def test_p3_spanning_autumn_clock_change_keeps_office_hours_in_local_time():
    # Fri 23 Oct 13:00-17:00 is 4 h (summer time); the clocks go back on Sunday 25 October;
    # the remaining 4 h run Monday 09:00-13:00 in winter time.
    assert deadline("2026-10-23T13:00:00+02:00", "P3") == "2026-10-26T13:00:00+01:00"


def test_monday_after_spring_clock_change_opens_at_nine_local_time():
    # A naive UTC-based office (08:00-16:00 UTC) would open at 10:00 in summer time.
    assert deadline("2026-03-27T16:00:00+01:00", "P2") == "2026-03-30T12:00:00+02:00"


@pytest.mark.parametrize(
    ("received", "priority", "expected"),
    [
        # National day, Tue 21 July 2026: 2 h on Monday, the rest on Wednesday.
        ("2026-07-20T15:00:00+02:00", "P2", "2026-07-22T11:00:00+02:00"),
        # Received on the national day itself: counted from Wednesday 09:00.
        ("2026-07-21T10:00:00+02:00", "P1", "2026-07-22T11:00:00+02:00"),
        # Easter Monday, 6 April 2026 (Good Friday is a working day in Belgium).
        ("2026-04-03T16:00:00+02:00", "P1", "2026-04-07T10:00:00+02:00"),
        # Labour Day, Fri 1 May 2026: holiday plus weekend.
        ("2026-04-30T13:00:00+02:00", "P3", "2026-05-04T13:00:00+02:00"),
        # Armistice, Wed 11 November 2026: 8 h on Tuesday, 8 h on Thursday.
        ("2026-11-10T09:00:00+01:00", "P4", "2026-11-12T17:00:00+01:00"),
    ],
)
def test_belgian_public_holidays_are_skipped(received, priority, expected):
    assert deadline(received, priority) == expected


def test_configured_closing_days_are_skipped():
    # Closed between Christmas and New Year: after 15 h on 24 and 26 December, the last hour waits
    # past the closing days and New Year's Day until Friday 2 January.
    closing = [date(2025, 12, 29), date(2025, 12, 30), date(2025, 12, 31)]
    assert (
        deadline("2025-12-24T10:00:00+01:00", "P4", closing_days=closing)
        == "2026-01-02T10:00:00+01:00"
    )


def test_closing_days_are_read_from_configuration_text():
    policy = SlaPolicy.model_validate({"closing_days": ["2026-03-16", "2026-03-16"]})
    assert policy.closing_days == [date(2026, 3, 16)]
    received = at("2026-03-13T16:30:00+01:00")
    assert first_response_deadline(received, "P1", policy=policy).isoformat() == (
        "2026-03-17T10:30:00+01:00"
    )


def test_without_a_country_no_public_holidays_are_skipped():
    assert deadline("2026-07-20T15:00:00+02:00", "P2", country=None) == "2026-07-21T11:00:00+02:00"


def test_other_office_hours_and_working_days():
    # A Saturday morning desk, 08:30-12:30.
    hours = {
        "office_open": time(8, 30),
        "office_close": time(12, 30),
        "working_days": (0, 1, 2, 3, 4, 5),
    }
    assert deadline("2026-03-13T11:30:00+01:00", "P2", **hours) == "2026-03-14T11:30:00+01:00"


# --- round the clock -------------------------------------------------------------------------


def test_premium_p3_uses_office_hours():
    assert deadline("2026-03-15T03:00:00+01:00", "P3", "premium") == "2026-03-16T17:00:00+01:00"


def test_standard_plan_and_no_plan_use_office_hours():
    received = "2026-03-15T03:00:00+01:00"
    assert deadline(received, "P1", "standard") == "2026-03-16T11:00:00+01:00"
    assert deadline(received, "P1", None) == "2026-03-16T11:00:00+01:00"


def test_pro_p2_across_autumn_clock_change_is_elapsed_time():
    # 00:30 CEST is 22:30 UTC; 4 h later is 02:30 UTC, which is 03:30 CET after the clocks went
    # back (adding 4 h to the wall clock would give 04:30, an hour too late).
    received = at("2026-10-25T00:30:00+02:00")
    due = first_response_deadline(received, "P2", "pro")
    assert due.isoformat() == "2026-10-25T03:30:00+01:00"
    assert due - received == timedelta(hours=4)


def test_premium_p1_across_spring_clock_change_is_elapsed_time():
    # 01:30 CET + 2 h of real time is 04:30 CEST: the hour 02:00-03:00 does not exist that night.
    assert deadline("2026-03-29T01:30:00+01:00", "P1", "premium") == "2026-03-29T04:30:00+02:00"


def test_round_the_clock_ignores_holidays_and_closing_days():
    assert (
        deadline("2025-12-25T10:00:00+01:00", "P2", "pro", closing_days=[date(2025, 12, 25)])
        == "2025-12-25T14:00:00+01:00"
    )


def test_round_the_clock_only_for_configured_priorities():
    received = "2026-03-15T03:00:00+01:00"
    only_p1 = {"round_the_clock_priorities": ["P1"]}
    assert deadline(received, "P1", "premium", **only_p1) == "2026-03-15T05:00:00+01:00"
    assert deadline(received, "P2", "premium", **only_p1) == "2026-03-16T13:00:00+01:00"
    assert deadline(received, "P2", "premium") == "2026-03-15T07:00:00+01:00"


def test_round_the_clock_only_for_configured_plans():
    received = "2026-03-15T03:00:00+01:00"
    pro_only = {"round_the_clock_plans": ["pro"]}
    assert deadline(received, "P1", "premium", **pro_only) == "2026-03-16T11:00:00+01:00"
    assert deadline(received, "P1", "pro", **pro_only) == "2026-03-15T05:00:00+01:00"


# --- time zones of the input -----------------------------------------------------------------


def test_utc_input_returns_brussels_local_time():
    received = datetime(2026, 3, 13, 15, 30, tzinfo=UTC)  # 16:30 in Brussels
    due = first_response_deadline(received, "P1")
    assert due.isoformat() == "2026-03-16T10:30:00+01:00"
    assert due.tzinfo == BRUSSELS


def test_other_offset_is_converted_before_counting():
    # 08:00 in New York (EDT) is 14:00 in Brussels: 3 h on Monday, Tuesday is the national day.
    assert deadline("2026-07-20T08:00:00-04:00", "P2") == "2026-07-22T10:00:00+02:00"


def test_round_the_clock_result_is_in_brussels_time():
    # 01:00 CEST; the clocks go back at 01:00 UTC (03:00 CEST becomes 02:00 CET).
    received = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert first_response_deadline(received, "P1", "pro").isoformat() == (
        "2026-10-25T02:00:00+01:00"
    )


def test_other_policy_time_zone():
    # 16:30 in Brussels is 15:30 in London: 1.5 h on Friday, half an hour on Monday, London time.
    assert (
        deadline("2026-03-13T16:30:00+01:00", "P1", timezone="Europe/London", country="GB")
        == "2026-03-16T09:30:00+00:00"
    )


# --- errors ----------------------------------------------------------------------------------


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        first_response_deadline(datetime(2026, 3, 13, 16, 30), "P1")


@pytest.mark.parametrize("priority", ["P5", "p1", "", "urgent"])
def test_unknown_priority_is_refused(priority):
    with pytest.raises(ValueError, match="unknown priority"):
        first_response_deadline(at("2026-03-13T16:30:00+01:00"), priority)


def test_unknown_plan_is_refused():
    with pytest.raises(ValueError, match="unknown plan"):
        first_response_deadline(at("2026-03-13T16:30:00+01:00"), "P1", "gold")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"office_open": time(17, 0), "office_close": time(9, 0)}, "must be after office_open"),
        ({"office_close": time(9, 0)}, "must be after office_open"),
        ({"office_open": time(9, 0, tzinfo=UTC)}, "wall-clock"),
        ({"hours": {"P1": 2, "P2": 4, "P3": 8}}, "misses P4"),
        ({"hours": {"P1": 0, "P2": 4, "P3": 8, "P4": 16}}, "positive"),
        ({"hours": {"P1": -2, "P2": 4, "P3": 8, "P4": 16}}, "positive"),
        ({"hours": {"P1": float("inf"), "P2": 4, "P3": 8, "P4": 16}}, "positive"),
        ({"hours": {"P1": 2, "P2": 4, "P3": 8, "P4": 16, "P5": 32}}, "P5"),
        ({"timezone": "Europe/Brussel"}, "unknown time zone"),
        ({"country": "XX"}, "no public holidays"),
        ({"working_days": ()}, "at least one weekday"),
        ({"working_days": (1, 7)}, r"0 \(Monday\) to 6 \(Sunday\)"),
        ({"round_the_clock_plans": ["gold"]}, "round_the_clock_plans"),
        ({"round_the_clock_priorities": ["urgent"]}, "round_the_clock_priorities"),
        ({"opening_hours": "9-17"}, "opening_hours"),
    ],
)
def test_policy_refuses_bad_settings(settings, message):
    with pytest.raises(ValidationError, match=message):
        SlaPolicy(**settings)


def test_policy_defaults_follow_the_support_policy():
    policy = SlaPolicy()
    assert policy.hours == {"P1": 2.0, "P2": 4.0, "P3": 8.0, "P4": 16.0}
    assert (policy.office_open, policy.office_close) == (time(9, 0), time(17, 0))
    assert policy.working_days == (0, 1, 2, 3, 4)
    assert policy.is_round_the_clock("P2", "pro")
    assert not policy.is_round_the_clock("P3", "pro")
    assert not policy.is_round_the_clock("P1", None)


def test_policy_is_immutable():
    with pytest.raises(ValidationError):
        SlaPolicy().timezone = "UTC"


def test_office_that_never_opens_is_reported():
    # Open on Sundays only, and every Sunday of the coming year declared closed.
    sundays = [date(2026, 3, 15) + timedelta(weeks=n) for n in range(60)]
    policy = SlaPolicy(working_days=(6,), closing_days=sundays)
    with pytest.raises(ValueError, match="never opens"):
        first_response_deadline(at("2026-03-13T16:30:00+01:00"), "P1", policy=policy)


# --- cross-check against a quarter-hour walk -------------------------------------------------


def _walked_deadline(received: datetime, hours: float, policy: SlaPolicy) -> datetime:
    """Reference: walk real time in quarter hours, counting those inside office hours."""
    step = timedelta(minutes=15)
    public = holidays.country_holidays("BE")
    now, counted = received.astimezone(UTC), timedelta(0)
    while counted < timedelta(hours=hours):
        local = now.astimezone(BRUSSELS)
        if (
            local.weekday() < 5
            and local.date() not in public
            and local.date() not in policy.closing_days
            and policy.office_open <= local.time() < policy.office_close
        ):
            counted += step
        now += step
    return now.astimezone(BRUSSELS)


@pytest.mark.parametrize(
    "first", ["2026-03-26T00:00:00+01:00", "2026-10-22T00:00:00+02:00", "2025-12-22T00:00:00+01:00"]
)
def test_agrees_with_a_quarter_hour_walk_around_clock_changes_and_holidays(first):
    policy = SlaPolicy(closing_days=[date(2025, 12, 31)])
    start = at(first)
    for n in range(0, 7 * 24 * 4, 5):  # a week of receipt times, every 75 minutes
        received = start + timedelta(minutes=15 * n)
        for priority, hours in policy.hours.items():
            expected = _walked_deadline(received, hours, policy)
            due = first_response_deadline(received, priority, policy=policy)
            assert due.isoformat() == expected.isoformat(), (received.isoformat(), priority)


def test_cached_office_windows_give_the_same_deadlines(monkeypatch) -> None:
    """Deadlines from a cache of office windows per date (what Intake keeps) are those computed
    afresh, across clock changes, holidays and weekends, also when the bounded cache clears."""
    import random

    from classifier import sla

    monkeypatch.setattr(sla, "MAX_CACHED_DAYS", 40)
    policy = SlaPolicy(closing_days=[date(2025, 12, 24)])
    windows: dict = {}
    rng = random.Random(5)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(3000):
        received = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 365 * 3))
        priority = rng.choice(["P1", "P2", "P3", "P4"])
        plan = rng.choice([None, "pro", "standard"])
        cached = first_response_deadline(received, priority, plan, policy, windows=windows)
        fresh = first_response_deadline(received, priority, plan, policy)
        assert cached.isoformat() == fresh.isoformat()
        assert len(windows) <= 40
    assert windows  # the cache was used

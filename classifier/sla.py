"""First-response deadline of a ticket, per the support policy's priority table.

The policy promises a first response within 2/4/8/16 hours for P1/P2/P3/P4, counted in office
hours (09:00-17:00, Monday to Friday, Europe/Brussels, without Belgian public holidays and the
days the company closes). Premium and pro customers get those hours round the clock for urgent
priorities. Every number lives in `SlaPolicy`, so a change of policy is a change of configuration.

Office hours are wall-clock times of each local day, so a day stays 09:00-17:00 across a clock
change; durations are measured in real elapsed time (via UTC), which is what a customer waits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from classifier.schemas import PLANS, PRIORITIES, Plan, Priority

__all__ = ["SlaPolicy", "first_response_deadline"]

# A policy whose office never opens would make the day walk endless; a year without a single
# open day can only be a configuration error.
_MAX_CLOSED_DAYS = 366


# Office windows kept per cache (see first_response_deadline's `windows`): ten years of days.
MAX_CACHED_DAYS = 3660
OfficeWindow = tuple[datetime, datetime]

DEFAULT_HOURS: dict[Priority, float] = {"P1": 2.0, "P2": 4.0, "P3": 8.0, "P4": 16.0}
ROUND_THE_CLOCK_PLANS: tuple[Plan, ...] = ("premium", "pro")
ROUND_THE_CLOCK_PRIORITIES: tuple[Priority, ...] = ("P1", "P2")


class SlaPolicy(BaseModel):
    """When the support desk counts time, and how many hours each priority gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(default="Europe/Brussels", description="IANA zone of the office")
    office_open: time = Field(default=time(9, 0), description="local wall-clock opening time")
    office_close: time = Field(default=time(17, 0), description="local wall-clock closing time")
    working_days: tuple[int, ...] = Field(
        default=(0, 1, 2, 3, 4),
        description="open weekdays as date.weekday() numbers: 0 = Monday ... 6 = Sunday",
    )
    country: str | None = Field(
        default="BE",
        description="ISO country code for public holidays (`holidays` package); None: none",
    )
    closing_days: list[date] = Field(
        default_factory=list, description="extra dates the office is closed (company decision)"
    )
    hours: dict[Priority, float] = Field(
        default_factory=lambda: dict(DEFAULT_HOURS),
        description="first-response time per priority, in counted hours",
    )
    round_the_clock_plans: list[Plan] = Field(
        default_factory=lambda: list(ROUND_THE_CLOCK_PLANS),
        description="plans whose round-the-clock priorities are counted 24/7, holidays included",
    )
    round_the_clock_priorities: list[Priority] = Field(
        default_factory=lambda: list(ROUND_THE_CLOCK_PRIORITIES),
        description="priorities counted 24/7 for the round-the-clock plans",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. 'Europe/Brussels'") from exc
        return value

    @field_validator("office_open", "office_close")
    @classmethod
    def _wall_clock_time(cls, value: time) -> time:
        # The office's zone is `timezone`; an offset here would contradict it on half the year.
        if value.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times, without a UTC offset")
        return value

    @field_validator("working_days")
    @classmethod
    def _valid_weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("working_days needs at least one weekday")
        if any(not 0 <= day <= 6 for day in value):
            raise ValueError("working_days are date.weekday() numbers, 0 (Monday) to 6 (Sunday)")
        return tuple(sorted(set(value)))

    @field_validator("country")
    @classmethod
    def _supported_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in holidays.list_supported_countries():
            raise ValueError(f"the holidays package has no public holidays for {value!r}")
        return code

    @field_validator("closing_days")
    @classmethod
    def _sorted_unique_days(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @field_validator("hours")
    @classmethod
    def _every_priority_positive(cls, value: dict[Priority, float]) -> dict[Priority, float]:
        missing = [code for code in PRIORITIES if code not in value]
        if missing:
            raise ValueError(f"hours misses {', '.join(missing)}; every priority needs a time")
        for code, amount in value.items():
            # inf or nan would never be reached by the day walk.
            if not (math.isfinite(amount) and amount > 0):
                raise ValueError(f"hours for {code} must be a positive number, got {amount!r}")
        return value

    @model_validator(mode="after")
    def _close_after_open(self) -> SlaPolicy:
        if self.office_close <= self.office_open:
            raise ValueError(
                f"office_close ({self.office_close}) must be after office_open ({self.office_open})"
            )
        return self

    def is_round_the_clock(self, priority: Priority, plan: Plan | None = None) -> bool:
        """Whether this priority on this plan is counted 24/7 instead of in office hours."""
        return plan in self.round_the_clock_plans and priority in self.round_the_clock_priorities

    def is_office_day(self, day: date) -> bool:
        """Whether the office opens on this local date (working weekday, no holiday, not closed)."""
        if day.weekday() not in self.working_days or day in self.closing_days:
            return False
        return self.country is None or day not in _public_holidays(self.country, day.year)


@lru_cache(maxsize=128)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    """Public holidays of one country and year; cached because every deadline looks them up."""
    # Only the "public" category: bank holidays such as 26 December are working days in Belgium.
    return frozenset(holidays.country_holidays(country, years=year))


@lru_cache(maxsize=1)
def _default_policy() -> SlaPolicy:
    # Built on first use rather than at import, which would load the holidays registry.
    return SlaPolicy()


def first_response_deadline(
    received_at: datetime,
    priority: Priority,
    plan: Plan | None = None,
    policy: SlaPolicy | None = None,
    *,
    windows: dict[date, OfficeWindow | None] | None = None,
) -> datetime:
    """When the first response is due for a ticket received at `received_at`.

    Office hours count only open time: a ticket received outside them starts counting at the next
    opening, and a deadline that lands on closing time stays on that day. Round-the-clock tickets
    (see `SlaPolicy.is_round_the_clock`) get the hours as elapsed time. `plan` None is standard.
    Returns an aware datetime in the policy's zone (its isoformat() carries the offset).
    `windows`: a cache of the policy's office windows per local date, kept by the caller for
    that one policy (see `office_window`); None: none.
    """
    if policy is None:
        policy = _default_policy()
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(
            "received_at must be timezone-aware, e.g. 2026-03-14T08:12:00+01:00; "
            "a naive time is ambiguous around clock changes"
        )
    if priority not in policy.hours:
        raise ValueError(f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}")
    if plan is not None and plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}; expected one of {', '.join(PLANS)} or None")

    zone = ZoneInfo(policy.timezone)
    due = timedelta(hours=policy.hours[priority])
    # Arithmetic in UTC: adding a timedelta to a zoned datetime moves the wall clock, not time,
    # and would be an hour off across a clock change.
    start = received_at.astimezone(UTC)
    if policy.is_round_the_clock(priority, plan):
        return (start + due).astimezone(zone)
    return _add_office_time(start, due, policy, zone, windows).astimezone(zone)


def _add_office_time(
    start: datetime,
    remaining: timedelta,
    policy: SlaPolicy,
    zone: ZoneInfo,
    cache: dict[date, OfficeWindow | None] | None = None,
) -> datetime:
    """The UTC instant at which `remaining` office time has passed since `start` (UTC)."""
    windows = _office_windows(start.astimezone(zone).date(), policy, zone, cache)
    while True:
        opens, closes = next(windows)
        begin = max(opens, start)
        if begin >= closes:  # received after closing: nothing left of this day
            continue
        available = closes - begin
        # `<=`: a deadline exactly at closing time belongs to that day, not the next opening.
        if remaining <= available:
            return begin + remaining
        remaining -= available


def office_window(day: date, policy: SlaPolicy, zone: ZoneInfo) -> OfficeWindow | None:
    """Opening and closing instants (UTC) of a local date, None if the office stays closed.

    Built from the wall-clock times of that date, so on a clock-change day it still opens at
    09:00 local time. A function of the date and the (frozen) policy alone: callers may keep
    the windows of one policy per date."""
    if not policy.is_office_day(day):
        return None
    return (
        datetime.combine(day, policy.office_open, zone).astimezone(UTC),
        datetime.combine(day, policy.office_close, zone).astimezone(UTC),
    )


def _office_windows(
    first_day: date,
    policy: SlaPolicy,
    zone: ZoneInfo,
    cache: dict[date, OfficeWindow | None] | None = None,
) -> Iterator[OfficeWindow]:
    """Opening and closing instants (UTC) of each office day from `first_day` on, one per day
    (closed days skipped whole), from `cache` (the policy's windows per date) when given."""
    day = first_day
    closed_in_a_row = 0
    while True:
        if cache is None:
            window = office_window(day, policy, zone)
        elif day in cache:
            window = cache[day]
        else:
            if len(cache) >= MAX_CACHED_DAYS:
                cache.clear()
            window = cache[day] = office_window(day, policy, zone)
        if window is not None:
            closed_in_a_row = 0
            yield window
        else:
            closed_in_a_row += 1
            if closed_in_a_row > _MAX_CLOSED_DAYS:
                raise ValueError(
                    f"the office never opens in the {_MAX_CLOSED_DAYS} days after {first_day}; "
                    "check working_days and closing_days"
                )
        day += timedelta(days=1)

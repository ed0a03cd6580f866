"""Intake.follow_up keeps the messages it made: the same text as follow_up_message, every time."""

from __future__ import annotations

import itertools

import pytest

import classifier.intake as intake_module
from classifier.intake import Intake
from classifier.replies import follow_up_message
from classifier.schemas import CATEGORIES, LANGUAGES, MISSING_CODES

ISSUE_LISTS = [None, [], ["infrastructure", "cms_plugins"], ["cms_plugins", "infrastructure"]]


def test_kept_messages_equal_follow_up_message_for_every_combination():
    intake = Intake()
    missing_sets = [
        list(codes)
        for n in range(len(MISSING_CODES) + 1)
        for codes in itertools.combinations(sorted(MISSING_CODES), n)
    ]
    for _ in range(2):  # the first pass makes the messages, the second reads them back
        for language, category, missing, password, multi, issues in itertools.product(
            LANGUAGES, CATEGORIES, missing_sets, (False, True), (False, True), ISSUE_LISTS
        ):
            kwargs = dict(
                contains_password=password, category=category, multi_issue=multi, issues=issues
            )
            assert intake.follow_up(language, missing, **kwargs) == follow_up_message(
                language, missing, templates=intake.templates, **kwargs
            )


def test_a_repeated_ticket_is_answered_from_the_kept_messages(monkeypatch):
    intake = Intake()
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return follow_up_message(*args, **kwargs)

    monkeypatch.setattr(intake_module, "follow_up_message", counting)
    kwargs = dict(
        contains_password=False, category="infrastructure", multi_issue=False, issues=None
    )
    first = intake.follow_up("nl", ["error_message", "server_or_domain"], **kwargs)
    again = intake.follow_up("nl", ["error_message", "server_or_domain"], **kwargs)
    assert first == again and first is not None and "\n" in first
    assert len(calls) == 1
    # the issues are part of what is kept only for multi-issue tickets
    multi = dict(kwargs, multi_issue=True)
    one = intake.follow_up("fr", [], **dict(multi, issues=["infrastructure"]))
    two = intake.follow_up("fr", [], **dict(multi, issues=["cms_plugins"]))
    assert one != two and len(calls) == 3


def test_the_kept_messages_are_bounded(monkeypatch):
    monkeypatch.setattr(intake_module, "MAX_MESSAGES", 3)
    intake = Intake()
    for language in ("nl", "fr", "en", "nl"):
        intake.follow_up(
            language,
            [],
            contains_password=True,
            category="product_usage",
            multi_issue=False,
            issues=None,
        )
    assert 1 <= len(intake._messages) <= 3


@pytest.mark.parametrize(
    ("missing", "error"),
    [("error_message", TypeError), (["no_such_code"], ValueError), ([["nested"]], TypeError)],
)
def test_bad_arguments_still_get_follow_up_messages_error(missing, error):
    intake = Intake()
    kwargs = dict(
        contains_password=False, category="infrastructure", multi_issue=False, issues=None
    )
    for _ in range(2):  # an error is never kept as an answer
        with pytest.raises(error):
            intake.follow_up("en", missing, **kwargs)
    assert intake._messages == {}

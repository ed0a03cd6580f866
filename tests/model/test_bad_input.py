"""Hostile and odd input: a prediction or a clear error, never a crash."""

from __future__ import annotations

import pytest

from classifier.schemas import Ticket

ODD_BODIES = {
    "empty": "",
    "1 MB of words": "de server reageert traag en de mail komt niet aan " * 21_000,
    "binary junk": bytes(range(256)).decode("latin-1") * 40,
    "NUL bytes": "site\x00 down\x00\x00 sinds\x00 10u",
    "lone surrogates": "mijn site \ud800 ligt plat \udfff help",
    "emoji flood": "😡🔥💥" * 6_000,
    "punctuation flood": "!?.,;:" * 3_000,
    "brackets": "([{<" * 5_000,
    "no whitespace": "x" * 70_000,
    "HTML only": "<html><body>" + "<div><p>Onze site is <b>down</b></p></div>" * 500,
    "mixed languages": "Bonjour, onze website is down since this morning, merci de regarder svp",
}


@pytest.mark.parametrize("name", ODD_BODIES)
def test_odd_bodies_get_a_prediction(model, name):
    [p] = model.predict([Ticket(subject="test", body=ODD_BODIES[name])])
    assert p.category and p.priority and p.language in ("nl", "fr", "en")


def test_empty_ticket_still_predicts_and_misses_a_subject(model):
    [p] = model.predict([Ticket(subject="", body="")])
    assert "descriptive_subject" in p.missing_info


def test_long_bodies_are_truncated_and_say_so(model):
    [long], [short] = (
        model.predict([Ticket(subject="traag", body=b)])
        for b in (ODD_BODIES["1 MB of words"], "de server reageert traag")
    )
    assert long.truncated and not short.truncated


def test_foreign_language_falls_back_and_is_flagged(model):
    [p] = model.predict(
        [
            Ticket(
                subject="Webseite nicht erreichbar",
                body="Guten Tag, unsere Webseite ist seit heute Morgen nicht mehr erreichbar. Können Sie "
                "bitte nachsehen? Vielen Dank und freundliche Grüße",
            )
        ]
    )
    assert p.language_fallback and p.language in ("nl", "fr", "en")


def test_secret_far_into_a_huge_body_is_never_echoed(model):
    body = "x " * 200_000 + "wachtwoord: Geheim!2024"
    [p] = model.predict([Ticket(subject="test", body=body)])
    assert p.truncated
    assert "Geheim!2024" not in p.model_dump_json()

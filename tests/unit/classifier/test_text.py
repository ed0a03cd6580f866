"""Cleaning: HTML, quoted replies, forwards, signatures, disclaimers, hostile input."""

from __future__ import annotations

from classifier.text import (
    LONG_RUN,
    break_long_runs,
    clean_ticket,
    detect_language,
    html_to_text,
    normalize,
    split_quoted,
    strip_signature,
    text_for_model,
)

REPLY = """Nog altijd hetzelfde, de site geeft een 500.

Groeten
Jan Peeters
Bakkerij Peeters - BTW BE0456.789.123

Op di 3 mrt. 2026 om 10:12 schreef Support <support@hoster.example>:
> Kan u ons de exacte foutmelding bezorgen?
> Met vriendelijke groet"""


def test_reply_chain_is_split_and_signature_cut():
    clean = clean_ticket("Re: site kapot", REPLY, 20_000)
    assert clean.own == "Nog altijd hetzelfde, de site geeft een 500."
    assert "exacte foutmelding" in clean.quoted
    assert "BE0456" in clean.full  # the whole text stays available to the detectors


def test_forwarded_outlook_header_starts_the_quote():
    body = (
        "Zie hieronder, kunnen jullie dit bekijken?\n\n"
        "Van: Wim <wim@it-partner.example>\nVerzonden: maandag 3 maart 2026 08:02\n"
        "Aan: onthaal@praktijk.example\nOnderwerp: VPS down\n\nDe VPS reageert niet meer."
    )
    own, quoted = split_quoted(body)
    assert own == "Zie hieronder, kunnen jullie dit bekijken?"
    assert quoted.startswith("Van: Wim")
    # with (almost) no own words, the model reads the forwarded text
    clean = clean_ticket("Fwd: VPS down", body, 20_000)
    assert "reageert niet meer" in text_for_model(clean)


def test_a_line_starting_with_van_is_not_a_header_by_itself():
    body = "Van: mijn kant is alles getest.\nDe site blijft traag."
    assert split_quoted(body) == (body, "")


def test_french_and_english_reply_headers():
    fr = "Toujours en panne.\n\nLe lun. 3 mars 2026 à 10:12, Support a écrit :\nBonjour"
    en = "Still down.\n\nOn Mon, 3 Mar 2026 at 10:12, Support wrote:\nHello"
    assert split_quoted(fr)[0] == "Toujours en panne."
    assert split_quoted(en)[0] == "Still down."


def test_disclaimer_and_device_footer_are_stripped():
    text = (
        "Onze mailbox is vol.\n\nDit e-mailbericht is vertrouwelijk en uitsluitend bestemd "
        "voor de geadresseerde."
    )
    assert strip_signature(text) == "Onze mailbox is vol."
    assert strip_signature("Site down\nEnvoyé de mon iPhone") == "Site down"


def test_postscript_under_the_signature_is_kept_as_own_words():
    text = (
        "De site geeft een fout 500.\nGroeten,\nPaul Dirix\nMarkt 12, Hasselt\n\n"
        "PS: wanneer komt de nieuwe factuur?"
    )
    assert strip_signature(text) == (
        "De site geeft een fout 500.\n\nPS: wanneer komt de nieuwe factuur?"
    )
    en = "Site down.\nThanks,\nKate\n\nOh and one more: do you do discounts?"
    assert strip_signature(en).endswith("Oh and one more: do you do discounts?")


def test_signature_lines_and_disclaimers_are_not_a_postscript():
    assert strip_signature("Mailbox vol.\nMvg\nJan\nPSV-supporter") == "Mailbox vol."
    text = "Site down.\nRegards,\nAnn\n\nThis e-mail is confidential.\nPS: not ours"
    assert strip_signature(text) == "Site down."


def test_html_is_turned_into_text_and_plain_text_is_left_alone():
    html = "<div>Beste,<br>de site&nbsp;is <b>traag</b></div><style>p{color:red}</style>"
    assert normalize(html_to_text(html)) == "Beste,\nde site is traag"
    assert html_to_text("if a < b and c > d") == "if a < b and c > d"


def test_normalize_handles_control_characters_and_lone_surrogates():
    text = "Site\x00 down \ud800 now\u200b\r\n\r\n\r\n\r\nplease"
    assert normalize(text) == "Site down ? now\n\nplease"


def test_long_runs_are_broken_for_the_tokenizer():
    broken = break_long_runs(f"kijk {'x' * 10_000} hier")
    assert max(len(piece) for piece in broken.split()) == LONG_RUN
    assert (
        break_long_runs("HELP!!!!!!!!!!!!!!!!!!!! 😀😀😀😀😀😀😀😀😀😀😀😀")
        == "HELP!!!!!!!! 😀😀😀😀😀😀😀😀"
    )


def test_truncation_is_reported():
    clean = clean_ticket("traag", "woord " * 10_000, 2_000)
    assert clean.truncated and len(clean.own) == 2_000


def test_language_detection_with_fallback():
    assert detect_language("Onze website ligt plat sinds vanochtend, kunnen jullie kijken?") == (
        "nl",
        False,
    )
    assert detect_language("Notre site ne fonctionne plus depuis ce matin") == ("fr", False)
    assert detect_language("Our website has been down since this morning") == ("en", False)
    assert (
        detect_language("Unsere Webseite ist seit heute Morgen nicht erreichbar, bitte helfen")[1]
        is True
    )
    assert detect_language("12345 !!! ???") == ("nl", True)


def test_domain_endings_are_not_words_of_the_text():
    # ".be" is English's stop word "be": five Belgian domains outvoted a Dutch sentence
    dutch = "onze website bakkerij-peeters.be is heel traag. " * 5
    assert detect_language(dutch) == ("nl", False)
    mail = "Bonjour, les adresses info@cabinet-renard.be et compta@cabinet-renard.be. " * 4
    assert detect_language(mail + "Merci de vérifier.")[0] == "fr"
    # an English text keeps its own "be"
    assert detect_language("It must be the server, it will be down again, be quick")[0] == "en"


def test_a_short_reply_is_classified_on_its_own_words():
    body = (
        "Merci. Comment activer le certificat SSL pour cabinet-renard.be ?\n\n"
        "Le lun. 3 févr. 2025 à 10:02, Support <support@hosting.example> a écrit :\n"
        "> Votre VPS était complètement hors service ce matin."
    )
    reply = clean_ticket("Re: certificat", body, 20_000)
    assert "hors service" in reply.quoted  # still there for the missing-info detectors
    assert "hors service" not in text_for_model(reply)
    # the same mail forwarded ("TR:", also behind reply prefixes) is about the forwarded text
    for forward in ("TR: certificat", "Re [2]: Fw: certificat", "RE : TR : certificat"):
        assert "hors service" in text_for_model(clean_ticket(forward, body, 20_000)), forward
    for reply in ("Re : " * 30 + "certificat", "Trouble: certificat"):
        assert "hors service" not in text_for_model(clean_ticket(reply, body, 20_000)), reply
    # a reply with next to no words of its own ("zie hieronder") is read with its quote
    bare = clean_ticket("Re: VPS", "Zie hieronder\n\n> De VPS reageert niet meer.", 20_000)
    assert "reageert niet meer" in text_for_model(bare)

"""Detectors on realistic fragments in the three languages (none taken from the corpus)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.signals import (
    REDACTED,
    count_added_sentences,
    count_confirmed_cues,
    count_second_issue_cues,
    count_steps_cues,
    detect_signals,
    find_domains,
    find_error_texts,
    find_ips,
    find_secrets,
    names_host,
    redact,
    subject_is_generic,
    subject_joins,
)
from classifier.text import clean_ticket


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Mijn wachtwoord is Kaasboer!77 als ge wilt kijken.", "Kaasboer!77"),
        ("wachtwoord: Hondje2023#", "Hondje2023#"),
        ("ww Schelde-44x voor de admin", "Schelde-44x"),
        ("Le mot de passe du compte est : Mouette#915 (je le change après)", "Mouette#915"),
        ("mdp: brocante_7781", "brocante_7781"),
        ("my password = Tr4mway!", "Tr4mway!"),
        ("FTP login: kapsalon_ftp / Sch44r&Kam", "Sch44r&Kam"),
        ("DB_PASSWORD=Vg7#kwQ2zL", "Vg7#kwQ2zL"),
        ("define( 'DB_PASSWORD', 'oliebol-2024' );", "oliebol-2024"),
        ("'password' => 'Kr1ek!',", "Kr1ek!"),
        ("dsn: mysql://shop_u:Br0od!Kast@db3.internal/shop", "Br0od!Kast"),
        ("De EPP-code van mijn domein is Qm8$tLw2-Zx", "Qm8$tLw2-Zx"),
        ("Le code de transfert reçu est 9xF!kq2Lm", "9xF!kq2Lm"),
        ("auth code: 7Ghy#29-pLq", "7Ghy#29-pLq"),
        ("Support pincode: 5831", "5831"),
        ("API token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4"),
        ("info@fietsen-claes.be / Velo2026!", "Velo2026!"),
        (
            "Het nieuwe wachtwoord van de mailbox is Zomerfeest88, kunt ge dat instellen?",
            "Zomerfeest88",
        ),
        ("Ik stuur u mijn wachtwoord zodat ge kunt kijken. Het is Duinen&Zee7.", "Duinen&Zee7"),
        ('wachtwoord "zonnebloem" werkt niet meer op de webmail', "zonnebloem"),
        ("Voici le mot de passe de la boîte : « Gaufre-de-Liège9 ».", "Gaufre-de-Liège9"),
        ("de code om mijn gsm te ontgrendelen is 4417", "4417"),
        ("passcode for the support line is 2291", "2291"),
        ("Het wachtwoord:\n\nKlokhuis-2025", "Klokhuis-2025"),
        ('{"api_key": "a8f3c2d19e7b4k"}', "a8f3c2d19e7b4k"),
        ("Authorization: Basic YWRtaW46Wm9tZXIyMDI0", "YWRtaW46Wm9tZXIyMDI0"),
        ("admin:$apr1$x9Lk2mQp$Hq1yN0bW7vTt3sZkR8eW1/", "$apr1$x9Lk2mQp$Hq1yN0bW7vTt3sZkR8eW1/"),
        ("het paswoord van de webmail is kapstok en het werkt niet", "kapstok"),
        ("Le mot de passe est le même qu'avant : cerisier", "cerisier"),
        ("Beheer -> admin / Mosselen55", "Mosselen55"),
        ("info@garage-wuyts.be - Ford1966", "Ford1966"),
        ("Sorry, vergeten te melden: het is Kanaal*Zicht3", "Kanaal*Zicht3"),
        ("Je l'ai changé en Noisette2025! hier soir.", "Noisette2025!"),
        ("De code die de nieuwe hoster vraagt is Qz4!wR-77p", "Qz4!wR-77p"),
        ("Het wachtwoord staat hieronder:\n\nKastanje_19", "Kastanje_19"),
        ("wachtwoord: Appel_Peer (hoofdletters!)", "Appel_Peer"),
        ("mijn paswoord is 19071984", "19071984"),
        ("mysql -u shop -p'Vis&Friet9' shopdb", "Vis&Friet9"),
        ("Code Wi-Fi : Salon2023Wifi", "Salon2023Wifi"),
        ("login as: root\npassword: Kl@ver4Blad", "Kl@ver4Blad"),
        # only the secret, not the settings or the user around it
        ("De gegevens:\n\nDB_HOST=127.0.0.1\nDB_USER=shop\nDB_PASSWORD=Vla@i2024", "Vla@i2024"),
        ("user en wachtwoord van de Plesk:\nvdbroeck\nMolen#Wiek55", "Molen#Wiek55"),
        ("Hij gaf mij dit:\nmysql://kraak_wp2:Kr0ket!22@localhost/kraak_wp2", "Kr0ket!22"),
        ("P/W: Tijger88", "Tijger88"),
        ("motdepasse=Bruges2020", "Bruges2020"),
        ('smtp_pass = "Postduif44"', "Postduif44"),
        ("w8woord is Kortrijk8500", "Kortrijk8500"),
        ("> Op 3 mei schreef Jan:\n> wachtwoord: Meikever#12\n> groeten", "Meikever#12"),
        # words that open a clause in one language are nouns in another: no clause break
        ("my password for the car site is kapstok and it fails", "kapstok"),
        ("the password while at the office is kapstok", "kapstok"),
    ],
)
def test_secret_is_found_with_its_exact_span(text, secret):
    spans = find_secrets(text)
    assert [text[s.start : s.end] for s in spans] == [secret]
    assert secret not in redact(text) and REDACTED in redact(text)


def word_salad(
    rng: random.Random, words: list[str], noise: list[str], joins: list[str], n: int, noise_len: int
) -> list[str]:
    """n strings of 1 to 6 pieces, each a word of the pattern or up to noise_len noise
    characters, joined by one of `joins`: near-misses around every branch of a pattern."""
    texts = []
    for _ in range(n):
        parts = [
            rng.choice(words)
            if rng.random() < 0.5
            else "".join(rng.choices(noise, k=rng.randint(0, noise_len)))
            for _ in range(rng.randint(1, 6))
        ]
        texts.append(rng.choice(joins).join(parts))
    return texts


def branches_open_with_literals(pattern: str) -> bool:
    """Whether the pattern (inside at most one group) is an alternation whose every branch opens
    with a literal character: what lets `re` skip ahead to the branches' first letters."""
    import re._constants as c
    import re._parser as parser

    ((op, av),) = list(parser.parse(pattern))
    if op is c.SUBPATTERN:
        ((op, av),) = list(av[-1])
    return op is c.BRANCH and all(branch[0][0] is c.LITERAL for branch in av[1])


def test_private_key_block_is_one_span():
    text = (
        "Hier de sleutel:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU"
        "\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC\n-----END OPENSSH PRIVATE KEY-----\nmvg"
    )
    [span] = find_secrets(text)
    assert text[span.start : span.end].startswith("-----BEGIN OPENSSH PRIVATE KEY")
    assert text[span.start : span.end].endswith("-----END OPENSSH PRIVATE KEY-----")
    assert "b3BlbnNzaC1" not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ik heb mijn wachtwoord gisteren gereset maar de link werkt niet.",
        "I reset my password yesterday, the reset link does not work.",
        "J'ai oublié mon mot de passe de la boîte info@.",
        "Wachtwoord vergeten, hoe kan ik een nieuw aanvragen?",
        "Outlook blijft om het wachtwoord vragen sinds de update naar versie 2405.",
        "The password for the FTP account is in our password manager, not in this mail.",
        "Na het wijzigen van het wachtwoord krijg ik fout 0x800CCC92 in Outlook.",
        "Mon SPF actuel : v=spf1 include:_spf.example.net ~all",
        "Too many failed login attempts from 81.82.14.3, please try again in 20 minutes.",
        "Public key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx jan@laptop",
        "DB_PASSWORD=your_password_here staat in het voorbeeld",
        "Connection string format? mysql://USER:PASSWORD@HOST/DB",
        "In de handleiding staat `mysql -u root -p<password>`, wat vul ik in?",
        "Het wachtwoord bevat een €-teken, is dat een probleem?",
        "Mijn gsm-nummer voor de 2FA sms: 0478 12 34 56",
        "De resetlink https://mijn.example.be/reset?token=8f3a9c2e1b7d4f6a is verlopen.",
        "Mon numéro de ticket : #INC0048812",
        "The password is stored hashed in wp_users, so I can't read it.",
        "Het wachtwoord voor de ftp-gebruiker is kwijtgeraakt.",
        "Wachtwoord vergeten. Het is de derde keer deze maand!",
        "Ik heb de PHP-versie veranderd naar 8.2 en nu geeft de site een fout.",
        "Kortingscode ZOMER2024 werkt niet in de webshop.",
        "Le mot de passe est celui de la facture de mars.",
        "In de .env staat DB_PASSWORD= maar leeg, is dat normaal?",
        "Het wachtwoord is fout en de user is jan_ftp.",
        "Password changed on 2024-03-12T14:22:05Z according to the audit log.",
        "Mijn klantnummer: KL-20481 / factuur: F-2024-0021",
        "Ik heb mijn wachtwoord al 2x gereset maar Outlook blijft zeuren.",
        "J'ai changé le mot de passe mais Thunderbird reste bloqué.",
    ],
)
def test_talk_about_passwords_is_not_a_secret(text):
    assert find_secrets(text) == []


def test_domains_in_text_and_email_but_not_placeholders_or_third_parties():
    text = (
        "Onze site www.Bakkerij-Vermeulen.be en de mail naar info@vermeulen-brood.eu werken niet. "
        "Ik heb het getest op example.com en gmail.com en via bit.ly/abc. Zie ook wp-config.php"
    )
    assert find_domains(text) == ["vermeulen-brood.eu", "bakkerij-vermeulen.be"]
    assert names_host("de server vps-12 reageert niet")
    assert not names_host("de server reageert niet")


def test_ips_are_told_apart():
    text = (
        "De server 185.43.12.9 reageert niet. Mijn publiek IP is 81.164.22.7 en "
        "de router staat op 192.168.1.1."
    )
    kinds = {ip.address: ip.kind for ip in find_ips(text)}
    assert kinds == {"185.43.12.9": "server", "81.164.22.7": "customer", "192.168.1.1": "private"}
    assert [ip.kind for ip in find_ips("notre IP publique : 2a02:1812:1c0e:5a00::12")] == [
        "customer"
    ]


def test_error_texts_and_vague_accounts():
    assert find_error_texts('Ik krijg "Error establishing a database connection" op de site')
    assert find_error_texts("bounce: 550 5.1.1 <jan@x.be>: Recipient address rejected")
    assert find_error_texts("Chrome zegt ERR_CONNECTION_TIMED_OUT")
    assert find_error_texts("capture d'écran de l'erreur en pièce jointe")
    assert not find_error_texts("de site werkt niet en is heel traag")


def test_steps_tried_cues():
    assert count_steps_cues("Ik heb de router al herstart en de cache geleegd.") >= 2
    assert count_steps_cues("I already cleared the cache and tried another browser.") >= 2
    assert count_steps_cues("J'ai déjà redémarré le PC.") >= 1
    assert count_steps_cues("Since I updated WooCommerce the shop is broken.") == 0


@pytest.mark.parametrize(
    "text",
    [
        "Nu ik jullie toch aan de lijn heb: mag de factuur op naam van de bv?",
        "Als ik toch bezig ben, kunnen jullie de PHP-versie aanpassen?",
        "Tant que j'y suis, pouvez-vous renvoyer la facture ?",
        "J’en profite pour demander un devis.",
        "While I have you: how do I add a user to the panel?",
        "Oh and one more thing, is the office open on Monday?",
    ],
)
def test_second_request_cues_in_three_languages(text):
    assert count_second_issue_cues(text) >= 1


def test_no_second_request_cue_in_a_single_issue():
    assert count_second_issue_cues("De site geeft een fout 500 sinds de update.") == 0
    assert count_second_issue_cues("Le site affiche une erreur 500 depuis ce matin.") == 0


def test_sentences_that_open_with_and_or_also_are_counted():
    assert count_added_sentences("De site is traag. En kan de factuur naar de vzw?") == 1
    assert count_added_sentences("Le site est en panne.\nEt je souhaite résilier l'option.") == 1
    assert count_added_sentences("Site down since 9.  Also: how do I add a user?") == 1
    assert count_added_sentences("Site en mail zijn plat, ook de FTP en de webmail.") == 0


def test_questions_are_counted_per_paragraph():
    ticket = clean_ticket(
        "Twee vragen",
        "Hoe maak ik een alias aan? Waar staat dat?\n\nEn klopt de factuur van mei?",
        8000,
    )
    signals = detect_signals(ticket)
    assert (signals.questions, signals.question_paragraphs) == (3, 2)


@pytest.mark.parametrize(
    ("subject", "generic"),
    [
        ("", True),
        ("help", True),
        ("Re: uw ticket #4521", True),
        ("URGENT!!!", True),
        ("(geen onderwerp)", True),
        ("Fwd: vraag", True),
        ("Question", True),
        ("Mailbox info@ vol - mails bouncen", False),
        ("VPS vps-12 onbereikbaar sinds 10u", False),
        ("Re: WooCommerce fatale fout na update", False),
    ],
)
def test_generic_subjects(subject, generic):
    assert subject_is_generic(subject) is generic


def _dev_set_scores(name: str) -> tuple[float, float, int, int]:
    """Recall and precision at the fragment level, and how many found secrets are covered."""
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / name
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    tp = fp = fn = covered = 0
    for row in rows:
        spans = find_secrets(row["text"])
        if row["secrets"] and spans:
            tp += 1
            positions = [row["text"].find(secret) for secret in row["secrets"]]
            covered += any(s.start <= p < s.end for s in spans for p in positions)
        elif row["secrets"]:
            fn += 1
        elif spans:
            fp += 1
    return tp / (tp + fn), tp / (tp + fp), covered, tp


def test_secret_detection_on_the_independent_dev_set():
    """300 fragments written apart from the corpus and from this detector (180 with secrets,
    120 look-alikes): a regression guard on recall, precision and span coverage."""
    recall, precision, covered, tp = _dev_set_scores("secrets_dev.jsonl")
    assert recall >= 0.94
    assert precision >= 0.98
    assert covered == tp


def test_secret_detection_on_the_second_dev_set():
    """320 more fragments, written before the detector was tuned on them (160 with secrets in
    nl, fr and en, 160 hard look-alikes: reset links, masked and placeholder passwords, order
    and tracking numbers, hashes, public keys): recall, precision and span coverage."""
    recall, precision, covered, tp = _dev_set_scores("secrets_dev2.jsonl")
    assert recall >= 0.95
    assert precision >= 0.98
    assert covered == tp


def test_second_dev_set_secrets_are_redacted_whole():
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / "secrets_dev2.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        spans = find_secrets(row["text"])
        if row["secrets"] and spans:
            redacted = redact(row["text"], spans)
            assert not [secret for secret in row["secrets"] if secret in redacted]


# The announcing words as a flat list: the reference the first-letter grouping must match.
_SECRET_WORD_FLAT = (
    r"(?:pas{1,2}w(?:or|ro|r|o)?[dt]s?|passcode|passphrase|\bpwd\b|\bpw\b|\bpass\b|\bpasw\b|"
    r"wachtwoo?r?d\w*|paswoor?[dt]\w*|passwoord\w*|\bww\b|w8woord|wachtzin|\bp/w\b|"
    r"mots?[ -]?de[ -]?pass?e?|\bmdp\b|pin ?code|\bcode pin\b|\bpin\b|"
    r"\bsecret\b|\btoken\b|\bjeton\b|"
    r"api[ _-]?key|(?:secret|access|private|license|licence|product|wpa|wifi|wi-fi|network)"
    r"[ _-]?key\b|(?<!hardware )(?<!usb )(?<!security )\bkey\s*[:=]|"
    r"cl[ée] (?:api|secr[eè]te|wpa|wi-?fi)|sleutel|(?:wi-?fi|wlan|wpa2?)[ -]?code|"
    r"code (?:wi-?fi|wpa2?)\b|"
    r"auth[ -]?(?:code|info)|code auth|authenticatiecode|authentication code|"
    r"code d'authentification|backup ?codes?|herstelcodes?|recovery codes?|codes? de secours|"
    r"codes? de récupération|beveiligingscode|veiligheidscode|security code|"
    r"code de sécurité|2fa|"
    r"\bepp\b|transfer ?code|verhuis(?:code|token)|overdrachtscode|autorisatiecode|"
    r"code de transfert|code d'autorisation|authori[sz]ation code|\blogin\b|identifiants?|"
    r"inloggegevens|credentials|gebruikersnaam|username|utilisateur|\bbearer\b|"
    r"ontgrendel\w*|unlock code|code de déverrouillage|code secret|toegangscode|inlogcode|"
    r"code d'accès|access code|inloggen|\blog(?:ged|ging)? ?in\b|\binlog\w*|"
    r"\b(?:me |se )?connect(?:e|er|é)\b|aanmeld\w*|sign(?:ed|ing)? ?in\b)"
)


def test_secret_word_grouping_finds_what_the_flat_list_finds():
    """_SECRET_WORD is the flat word list regrouped by first letter for speed: on every word,
    in every case, glued to others and to random characters, both find the same spans (on the
    lower-cased fast path and on the IGNORECASE one)."""
    import re

    from classifier.signals import _SECRET_WORD

    flat_fast, flat_slow = re.compile(_SECRET_WORD_FLAT), re.compile(_SECRET_WORD_FLAT, re.I)
    found = re.findall(r"[a-z0-9/'é-]+(?: [a-z'é]+)*", _SECRET_WORD_FLAT.replace("|", " | "))
    extra = ["log in", "logged in", "me connecte", "se connecter", "hardware key:", "usb key="]
    words = [*sorted(set(found)), *extra, "key ="]
    rng = random.Random(3)
    noise = [*"abcdeklmnopstuw2/ -_:=.'\n\té", "İ", "K", "ſ", "P", "É"]
    texts = list(words) + [w.upper() for w in words] + [w.capitalize() for w in words]
    texts += word_salad(rng, words, noise, ["", " ", "x", "-"], n=3000, noise_len=6)
    for text in texts:
        lower = text.lower()
        if len(lower) == len(text):
            assert [m.span() for m in _SECRET_WORD.fast.finditer(lower)] == [
                m.span() for m in flat_fast.finditer(lower)
            ], text
        assert [m.span() for m in _SECRET_WORD.slow.finditer(text)] == [
            m.span() for m in flat_slow.finditer(text)
        ], text
    # the structure that makes it fast: one literal first letter per top-level branch
    assert branches_open_with_literals(_SECRET_WORD.fast.pattern)


@pytest.mark.parametrize(
    "text",
    [
        "site www.bakkerij-jansens.be en mail jan@bakkerij.be",
        "A1.B2.SHOP ligt plat, 9.x.com ook",
        "server 81.82.83.84 and 192.168.1.1 from 2001:db8::1, ::1, fe80::1 or ABCD::EF01",
        "1:2:3:4:5:6:7:8 and 10.0.0.1.5",
    ],
)
def test_pre_check_hints_hold_in_every_match(text: str):
    """A text is skipped when it lacks the hint of a pattern: every match must hold it."""
    from classifier.signals import _DOMAIN, _IP_HINTS

    lower = text.lower()
    found = 0
    for match in _DOMAIN.fast.finditer(lower):
        found += 1
        assert _DOMAIN.hint is not None and _DOMAIN.hint.search(match.group(0))
    for pattern, hint in _IP_HINTS:
        for match in pattern.finditer(text):
            found += 1
            assert hint.search(match.group(0))
    assert found  # the examples do hold matches


def test_odd_case_letters_are_all_those_ignorecase_matches_to_ascii():
    """_may_hold skips a case-insensitive scan by looking for lower-case literals in the
    lower-cased text: sound only if every character re.IGNORECASE matches to an ASCII letter
    lower-cases to that letter or is one of _ODD_CASE (tried on every code point)."""
    import re
    import sys

    from classifier.signals import _ODD_CASE

    ascii_letter = re.compile(r"[a-z]", re.IGNORECASE)
    odd = {
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if ascii_letter.fullmatch(c) and c.lower() not in "abcdefghijklmnopqrstuvwxyz"
    }
    assert odd == set(_ODD_CASE)


def test_skipped_scans_would_have_found_nothing():
    """The literal and hint pre-checks in find_secrets only skip texts the scans find nothing
    in: every text a pattern matches passes its pre-checks."""
    from classifier.signals import (
        _CODE_HINT,
        _CODE_SECRET,
        _CODE_WORDS,
        _CREDENTIAL_PAIR,
        _PAIR_HINT,
        _PAIR_SEPARATORS,
        _TOKEN,
        _TOKEN_HINT,
        _TOKEN_LITERALS,
        _may_hold,
    )

    texts = [
        "'password' => 'hunter22'",
        "$db_pass = 'qwerty12'",
        "'ſecret': 'abc123'",
        'api_KEY: "abcd1234"',
        "admin / Pl3sk-Beh33r",
        "jan@x.be - Velo2026",
        "root\t--> X7#kP9qL2!mR",
        "root :: X7#kP9qL2!mR",
        "user | Abc!1234",
        "l'été, c'est \"chaud\" 2024!",
        "define( 'DB_PASSWORD' ,\t'abc123' );",
        '$wachtPass = "x1y2z3"',
        "db_password :\n 'abc'",
        "ghp_" + "a1B2" * 9,
        "sk_live_" + "x" * 24,
        "rk_live_ABCDEFGHIJ",
        "xoxb-1234567890-abc",
        "AKIA" + "Z" * 16,
        "sk-" + "q" * 30,
        "glpat-" + "r" * 20,
        "Basic dXNlcjpwYXNzd29yZA==",
        "$2y$10$abcdefghijklmnop",
        "$apr1$abcdefgh",
        "shop_live_ABCDEFGHIJKL12",
        "eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM",
    ]
    rng = random.Random(4)
    pieces = [*texts, "_", "$", "'", '"', "=", "=>", ":", ",", " ", "\n", "key", "PASS", "token"]
    texts += word_salad(rng, pieces, list("ab1_$'\"=:, \n"), ["", " ", "_", "="], 4000, 4)
    for text in texts:
        lower = text.lower()
        if _CODE_SECRET.search(text):
            assert _may_hold(text, lower, _CODE_WORDS) and _CODE_HINT.search(text), text
        if _CREDENTIAL_PAIR.search(text):
            assert _PAIR_HINT.search(text), text
            assert any(separator in text for separator in _PAIR_SEPARATORS), text
        if _TOKEN.search(text):
            assert any(t in text for t in _TOKEN_LITERALS) or _TOKEN_HINT.search(text), text


def test_follow_up_tried_only_at_starts_finds_what_finditer_finds():
    """_FOLLOW_UP is tried only where its `starts` pattern finds a branch's leading literal: on
    every cue word, glued to others and to random characters, the same matches (spans and
    groups) as the pattern's own finditer."""

    from classifier.signals import _FOLLOW_UP

    words = [
        *"het is|'t is|it's|it is|c'est|dat is|here it is|voilà|voici|het juiste|de goede is|"
        "het correcte|the right one is|the correct one is|le bon est|la bonne c'est|"
        "changé en|changee to|changed it to|veranderd naar|gewijzigd in|aangepast op|modifiée en|"
        "gereset naar|ingesteld op|gezet op|set to|reset it to|set them into|code|codes".split("|")
    ]
    rng = random.Random(5)
    noise = [*"abcdeghilnorst2 -_:'\n\té", "İ", "ſ", "É"]
    texts = [*words, *(w.upper() for w in words)]
    texts += word_salad(rng, words, noise, ["", " ", "x", "'", "\t"], n=5000, noise_len=5)
    for text in texts:
        lower = text.lower()
        expected = [(m.span(), m.groupdict()) for m in _FOLLOW_UP.fast.finditer(lower)]
        if len(lower) == len(text):
            assert [(m.span(), m.groupdict()) for m in _FOLLOW_UP.finditer(text)] == expected


def test_error_text_branches_open_with_one_literal():
    """_ERROR_TEXT is grouped by first character: re skips to those characters only when every
    top-level branch opens with a literal (one set such as [45] and it tries every position)."""
    from classifier.signals import _ERROR_TEXT

    assert branches_open_with_literals(_ERROR_TEXT.fast.pattern)


@pytest.mark.parametrize(
    "text",
    ["HTTP 503", "error: 404", "500 Internal Server Error", "550 5.1.1", "a 450 4.2.0", "x5501"],
)
def test_error_text_status_codes(text):
    """The 4 and 5 branches find what the former [45] branch found."""
    import re

    from classifier.signals import _ERROR_TEXT, _STATUS_45

    former = re.compile(r"[45](?:" + _STATUS_45 + r")")
    lower = text.lower()
    expected = [m.span() for m in former.finditer(lower)]
    assert [m.span() for m in _ERROR_TEXT.finditer(text) if m.group(0)[0] in "45"] == expected


# Characters that move offsets or case-fold oddly, and the ones around word boundaries.
ODD_NOISE = ["İ", "ı", "ſ", "K", "ß", "É", "\u0301", "\u00a0", "\u2019", "é", "_", "4"]


def pattern_words(pattern: str) -> list[str]:
    """The literal words and phrases written in a pattern (near-misses come from the salad)."""
    import re

    found = re.findall(r"[\w/'’.-]+(?: [\w'’]+)*", re.sub(r"\\[bswd]", " ", pattern))
    return sorted({w for w in found if len(w) > 1 and w not in {"?:", "ly"}})


# What each scanned pattern finds, besides the words written in it.
_SCANNED = {
    "_STEPS": [],
    "_CONNECTION": [],
    "_SECOND_ISSUE": [],
    "_FOLLOW_UP": [],
    "_ENUMERATION": ["1.", "9)", "-", "*", "•", "\n", "\n "],
    "_NAMED_HOST": ["Business", "«Pro", "12", "-7", "_03", "vps-12", "srv03", "pakket Basic"],
    "_DOMAIN": ["bakkerij-jansens.be", "www.a1.shop", "x-.nl", "9.x.com", "@", "-", ".de"],
    "_IPV4": ["81", "192.168", "1.2.3.4", "10.0.0.1.5", "255", "0", "."],
    "_SCREENSHOT": [],
    "_EMAIL_DOMAIN": ["jan@bakkerij.be", "a.b+c@x.shop", "x-y@a.b.eu", "@", "-", "+", ".", "x.com"],
}


@pytest.mark.parametrize("name", list(_SCANNED))
def test_tried_only_at_starts_finds_what_finditer_finds(name: str):
    """A pattern tried only where its `starts` pattern finds a possible start (after a
    non-word character, lead=1, or at a branch's leading literal) finds the same matches (spans
    and groups) as its own finditer, on every word of the pattern glued to others, to random
    and odd characters, in every case."""
    import classifier.signals as signals

    scanned = getattr(signals, name)
    if isinstance(scanned, signals.Caseless):
        assert scanned.scan is not None
        words = pattern_words(scanned.fast.pattern)
    else:  # a StartScan of a case-sensitive pattern
        words = pattern_words(scanned.pattern.pattern)
    words += _SCANNED[name]
    rng = random.Random(name)
    noise = [*"abcdeghilnorst2 -_:'.!?*•\n\té", *ODD_NOISE]
    texts = [*words, *(w.upper() for w in words), *(w.capitalize() for w in words)]
    joins = ["", " ", "x", "'", "\t", ".", "é", "\n", "\n 1. ", "-", "@"]
    texts += word_salad(rng, words, noise, joins, n=6000, noise_len=5)
    # long texts too: past StartScan.MAX_MISSES tries the plain finditer takes over
    texts += [" ".join(texts[i : i + 60]) for i in range(0, len(texts), 60)]
    found = 0
    for text in texts:
        if isinstance(scanned, signals.Caseless):
            pattern, target = scanned._pick(text, None)
        else:
            pattern, target = scanned.pattern, text
        expected = [(m.span(), m.groups()) for m in pattern.finditer(target)]
        assert [(m.span(), m.groups()) for m in scanned.finditer(text)] == expected, text
        found += len(expected)
    assert found > 300  # the salad does hold matches


def test_branches_are_split_and_grouped_by_first_letter():
    import re

    from classifier.signals import _by_first_letter, _split_branches

    alternation = r"al (?:x|y)|b[|(]c|an\||[]|]z|(?:heb|had) ik|é\b|s?x|a\)"
    assert _split_branches(alternation) == [
        "al (?:x|y)",
        "b[|(]c",
        r"an\|",
        "[]|]z",
        "(?:heb|had) ik",
        r"é\b",
        "s?x",
        r"a\)",
    ]
    grouped = _by_first_letter(alternation)
    assert grouped == r"a(?:l (?:x|y)|n\||\))|b(?:[|(]c)|é(?:\b)|[]|]z|(?:heb|had) ik|s?x"
    for text in ["al y", "an|", "b(c", "]z", "had ik", "é", "x", "sx", "a)", "al z"]:
        assert bool(re.fullmatch(grouped, text)) == bool(re.fullmatch(alternation, text)), text


def test_credential_pairs_after_a_character_are_all_the_pairs():
    """_credential_pairs finds _CREDENTIAL_PAIR's matches (all empty: lookarounds) through a
    pattern that opens with the character before them: the same users, separators and secrets
    at the same places, on pairs glued to each other and to the characters around them. Every
    text with a pair passes the _PAIR_HINT pre-check."""
    from classifier.signals import _CREDENTIAL_PAIR, _PAIR_HINT, _credential_pairs

    words = ["admin", "jan@x.be", "root", "Pl3sk-Beh33r", "Tulp!2026", "X7#kP9qL2!mR", "a.b+c", "x"]
    separators = [" / ", "/", " | ", ":", "::", " - ", "\t--> ", " -> ", " : ", "  /  "]
    rng = random.Random(7)
    noise = [*"ab1!#@ \t\n(),;:>\"'[<-/|", *ODD_NOISE]
    joins = [*separators, " ", "", "(", " --", "\t->\t", ":: ", "-", " -\n"]
    texts = word_salad(rng, words, noise, joins, n=8000, noise_len=4)
    found = 0
    for text in texts:
        expected = [
            (m.span(), m.groupdict(), m.span("secret")) for m in _CREDENTIAL_PAIR.finditer(text)
        ]
        if expected:
            assert _PAIR_HINT.search(text), text
        pairs = [
            ((m.end(), m.end()), m.groupdict(), m.span("secret")) for m in _credential_pairs(text)
        ]
        assert pairs == expected, text
        found += len(pairs)
    assert found > 1000


@pytest.mark.parametrize(
    ("written", "used"), [("_ERROR_TEXTS", "_ERROR_TEXT"), ("_SECRET_WORDS", "_SECRET_WORD")]
)
def test_boundary_checked_after_the_next_letter_finds_the_same(written: str, used: str):
    """_boundary_after_letter moves each (?<=\\bx) behind the letter after it: the pattern as
    written and as used find the same matches (fast and IGNORECASE paths) on its words glued to
    others and to odd characters, in every case."""
    import re

    import classifier.signals as signals
    from classifier.signals import _boundary_after_letter

    assert _boundary_after_letter(r"a(?<=\ba)b|c(?:(?<=\bc)d?e|(?<=\bc)éf)") == (
        r"ab(?<=\bab)|c(?:(?<=\bc)d?e|é(?<=\bcé)f)"
    )
    pattern = getattr(signals, written)
    fast, slow = re.compile(pattern), re.compile(pattern, re.IGNORECASE)
    caseless = getattr(signals, used)
    # the words of a branch grouped by first letter are written without it: "p(?:ass|in)"
    words = pattern_words(pattern)
    for branch in signals._split_branches(pattern[3:-1]):
        words += [branch[0] + word for word in pattern_words(branch[1:])]
    rng = random.Random(written)
    noise = [*"abcdeklmnopstuwx45/ -_:=.'\n\té", *ODD_NOISE]
    texts = [*words, *(w.upper() for w in words), *(w.capitalize() for w in words)]
    texts += word_salad(rng, words, noise, ["", " ", "x", "-", "4"], n=4000, noise_len=5)
    found = 0
    for text in texts:
        lower = text.lower()
        expected = [m.span() for m in fast.finditer(lower)]
        assert [m.span() for m in caseless.fast.finditer(lower)] == expected, text
        assert [m.span() for m in caseless.slow.finditer(text)] == [
            m.span() for m in slow.finditer(text)
        ], text
        found += len(expected)
    assert found > 1000


def test_added_sentences_are_counted_as_finditer_counts():
    """count_added_sentences counts with a pattern that opens with the newline before a line
    (not ^ tried everywhere): as many as _ADDED_SENTENCE.finditer finds, on its words glued
    to newlines, sentence ends, spaces and tabs, and odd characters, in every case."""
    from classifier.signals import _ADDED_SENTENCE

    words = [*pattern_words(_ADDED_SENTENCE.fast.pattern), "x", "ende", "ook nog"]
    rng = random.Random(9)
    noise = [*"\n\n.!? \t\tabe-", *ODD_NOISE]
    joins = ["", " ", "\n", ". ", "!\t", "?", "\n  ", ".\n", "\t"]
    texts = [*words, *(w.upper() for w in words), *(w.capitalize() for w in words)]
    texts += word_salad(rng, words, noise, joins, n=8000, noise_len=4)
    found = 0
    for text in texts:
        expected = sum(1 for _ in _ADDED_SENTENCE.finditer(text))
        assert count_added_sentences(text) == expected, text
        assert count_added_sentences(text, text.lower()) == expected, text
        found += expected
    assert found > 2000


def test_start_scan_hands_over_to_finditer_after_many_misses():
    """A text full of possible starts: after MAX_MISSES tries that find nothing, the plain
    finditer goes on from there, with the same matches as finditer on the whole text."""
    from classifier.signals import _IPV4, StartScan

    for text in [
        "1.1." * 40 + " 81.82.83.84 " + "9.9." * 40 + "10.0.0.1",
        "81.82.83.84 " + "1.1." * 40 + " 1.2.3.4" * 3,
        "1.2.3.4." * 50 + "\n5.6.7.8",
    ]:
        expected = [m.span() for m in _IPV4.pattern.finditer(text)]
        assert [m.span() for m in _IPV4.finditer(text)] == expected, text
        assert len(expected) >= 1
        assert len(_IPV4.starts.findall(text)) > StartScan.MAX_MISSES


def _plain_shaped(value: str) -> bool:
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    has_symbol = any(not c.isalnum() and c not in "-._'/" for c in value)
    return has_alpha and len(value) >= 6 and (has_digit or has_symbol)


_SHAPE_CHARACTERS = [*"aZé1٣²-._'/!#@ ", "ǅ", "Ⅰ", "①", "😀", "\u0301"]


@given(st.text(alphabet=st.sampled_from(_SHAPE_CHARACTERS), max_size=10) | st.text(max_size=10))
@settings(max_examples=1000, deadline=None)
def test_secret_shape_shortcut_is_the_plain_definition(value: str):
    """_shaped leaves out the character scans for values of letters only or digits only: the
    same answer as the plain definition on any value."""
    from classifier.signals import _shaped

    assert _shaped(value) == _plain_shaped(value)
    for example in ("abcdef", "abcde1", "abcde!", "123456", "abc-de", "ǅabcd1", "a٣٣٣٣٣", "Ⅰabcde"):
        assert _shaped(example) == _plain_shaped(example), example


def _plain_announced_secrets(text: str, word) -> list:
    """_announced_secrets as first written: every check made for every candidate, in order."""
    from classifier import signals as s

    if s._PUBLIC.search(text[max(0, word.start() - 12) : word.start()]):
        return []
    run = text[max(0, word.start() - 200) : word.start()].rsplit(None, 1)
    if run and not text[word.start() - 1].isspace() and s._RESET_URL.search(run[-1]):
        return []
    backup = bool(s._BACKUP_WORD.search(word.group(0)))
    window = text[word.end() : word.end() + (s._WINDOW * 4 if backup else s._WINDOW)]
    stop = s._WINDOW_END.search(window)
    if stop and not window[: stop.start()].rstrip(" \t=-").endswith(":"):
        window = window[: stop.start() + 1]
    pin_like = bool(s._PIN_WORD.search(word.group(0)))
    password_word = bool(s._PASSWORD_WORD.search(word.group(0)))
    found: list = []
    late = None
    if password_word:
        phrase = s._QUOTED_PHRASE.match(window)
        constant = phrase and re.fullmatch(r"[A-Z][A-Z0-9_]+", phrase.group("v"))
        if phrase and not constant and not s._ERRORISH.search(phrase.group("v")):
            value = phrase.group("v")
            if value.lower() not in s._NOT_A_SECRET and value.lower() not in s._STOP_VALUE:
                start = word.end() + phrase.start("v")
                found.append(s.SecretSpan(start, start + len(value), "password"))
        linked = s._LINKED_WORD.match(window)
        if linked and not found and s._plain_word_secret(window, linked):
            start = word.end() + linked.start("v")
            span = s.SecretSpan(start, start + len(linked.group("v")), "password")
            if s._PARENTHESIS.fullmatch(linked.group("pre")):
                found.append(span)
            else:
                late = span
        digits = s._LINKED_DIGITS.match(window)
        if digits and not found and not s._PHONE.match(window, digits.start("v")):
            start = word.end() + digits.start("v")
            found.append(s.SecretSpan(start, start + len(digits.group("v")), "password"))
    near = text[max(0, word.start() - 40) : word.end() + s._WINDOW]
    hash_context = bool(s._HASH_WORD.search(near))
    for candidate in s._CANDIDATE.finditer(window):
        value = candidate.group(0).rstrip(".,:;)")
        if hash_context and s._HEX_HASH.fullmatch(value):
            continue
        start = word.end() + candidate.start()
        phone = s._PHONE.match(text, start) if pin_like else None
        if phone and phone.end() > start + len(value):
            continue
        sentence = s._SENTENCE_START.split(window[: candidate.start()])[-1]
        if not pin_like and s._DESCRIPTION.search(sentence):
            continue
        quoted_password = password_word and s._quoted_word(window, candidate)
        code_group = backup and s._CODE_GROUP.fullmatch(value)
        capitals = password_word and s._CAPITALISED_PARTS.fullmatch(value.rstrip("!?"))
        if capitals and value.lower().rstrip("!?") in s._PRODUCT_NAMES:
            capitals = None
        if (
            s._looks_like_secret(value, allow_digits=pin_like)
            or quoted_password
            or code_group
            or capitals
        ):
            found.append(s.SecretSpan(start, start + len(value), "password"))
            if len(found) >= (12 if backup else 3):
                break
    return found or ([late] if late else [])


_ANNOUNCED_PIECES = [
    *"wachtwoord|mot de passe|password|pincode|backup codes|md5|sha256|hash|bevat|contains|"
    "at least|a|met een|avec une|heeft|is|:|het|een|teken|en|. |! |\n|\n\n|'|\"|«|»|(|)".split("|"),
    *"Kaasboer!77|Hondje2023#|4417|19071984|0478 12 34 56|+32 478 12 34 56|ab12cd34|x9y8z7w6|"
    "d41d8cd98f00b204e9800998ecf8427e|da39a3ee5e6b4b0d3255bfef95601890afd80709|Tractor_Rood|"
    "DeGoudenLeeuw|PhpMyAdmin|KeePassXC|zonnebloem|€-teken|Geheim#12!|Vla@i2024".split("|"),
]


@given(st.lists(st.sampled_from(_ANNOUNCED_PIECES), min_size=1, max_size=14), st.randoms())
@settings(max_examples=1500, deadline=None)
def test_announced_secrets_with_checks_made_late_is_the_plain_definition(pieces, rng):
    """_announced_secrets makes its costlier checks (a hash word near, a description in the
    sentence) only for candidates the other checks take: the same spans as making them all."""
    from classifier.signals import _SECRET_WORD, _announced_secrets

    text = "".join(piece + rng.choice([" ", "", " ", ": ", "\n"]) for piece in pieces)
    for word in _SECRET_WORD.finditer(text):
        assert _announced_secrets(text, word) == _plain_announced_secrets(text, word), text


@given(st.text(alphabet="ab_$:/ -\t'\"P", max_size=12), st.lists(st.text("ab_$:/ -", max_size=3)))
@settings(max_examples=500, deadline=None)
def test_holds_any_is_any(text: str, literals: list[str]):
    from classifier.signals import _holds_any

    assert _holds_any(text, tuple(literals)) == any(literal in text for literal in literals)


def _plain_merge(spans: list) -> list:
    from classifier.signals import SecretSpan

    merged: list = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = SecretSpan(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(1, 8), st.sampled_from("abc")), max_size=5)
)
@settings(max_examples=500, deadline=None)
def test_merge_of_few_spans_is_the_plain_merge(raw_spans):
    """_merge returns a list of fewer than two spans as it is: what sorting and merging give."""
    from classifier.signals import SecretSpan, _merge

    spans = [SecretSpan(start, start + length, kind) for start, length, kind in raw_spans]
    assert _merge(list(spans)) == _plain_merge(spans)


def test_private_key_scan_is_skipped_only_without_its_opening():
    from classifier.signals import _PRIVATE_KEY_BEGIN

    for kind in ("", "RSA ", "OPENSSH ", "EC ", "ENCRYPTED ", "PGP "):
        for block in ("", " BLOCK"):
            text = f"x-----BEGIN {kind}PRIVATE KEY{block}-----y"
            assert "-----BEGIN " in _PRIVATE_KEY_BEGIN.search(text).group(0)
            assert find_secrets(text)


def _plain_follow_up_secret(text: str, cue):
    """_follow_up_secret as first written: the context looked up before the other tests."""
    from classifier import signals as s

    rest = text[cue.end() : cue.end() + s._WINDOW]
    before = text[max(0, cue.start() - 200) : cue.start()]
    if cue.group("code"):
        return s._follow_up_secret(text, cue)  # this branch did not change
    context = s._SECRET_CONTEXT.search(before) or s._SECRET_CONTEXT.search(cue.group(0))
    if cue.group("its") and context:
        phrase = s._QUOTED_PHRASE.match(rest)
        if phrase and phrase.start("v") <= 3 and not s._MESSAGE_WORDS.search(phrase.group("v")):
            value = phrase.group("v")
            words = value.lower().split()
            if (
                len(words) <= 5
                and words[0] not in s._STOP_VALUE
                and not s._SECRET_WORD.search(value)
            ):
                start = cue.end() + phrase.start("v")
                return s.SecretSpan(start, start + len(value), "password")
    first = s._CANDIDATE.match(rest)
    if not first:
        return None
    value = first.group(0).rstrip(".,:;)")
    if s._REFERENCE_SHAPE.fullmatch(value) or not s._looks_like_secret(value):
        return None
    if context or s._STRONG.fullmatch(value):
        start = cue.end() + first.start()
        return s.SecretSpan(start, start + len(value), "password")
    return None


_FOLLOW_UP_PIECES = [
    *"het is|'t is|it's|c'est|voilà|de juiste is|changed to|veranderd naar|gereset naar|code|"
    "wachtwoord|pw|ww|login|vergeten|forgot|password|mot de passe|niet|fout|error|werkt|"
    "'|\"|«|»|: |, |. |\n|\n\n".split("|"),
    *"Kaasboer!77|Turnen4ever!|Printemps2024|zonnebloem|'mijn hond Bruno'|\"kaas en wijn\"|"
    "'het wachtwoord'|KL-20481|#INC0048812|info@x.be|Velo2026|abcdefgh|12345678".split("|"),
]


@given(st.lists(st.sampled_from(_FOLLOW_UP_PIECES), min_size=1, max_size=14), st.randoms())
@settings(max_examples=1500, deadline=None)
def test_follow_up_secret_with_context_asked_last_is_the_plain_definition(pieces, rng):
    """_follow_up_secret looks for a password word near the cue only when the other tests let
    the value through: the same span (or none) as looking first."""
    from classifier.signals import _FOLLOW_UP, _follow_up_secret

    text = "".join(piece + rng.choice([" ", "", " ", ": ", "\n"]) for piece in pieces)
    for cue in _FOLLOW_UP.finditer(text):
        assert _follow_up_secret(text, cue) == _plain_follow_up_secret(text, cue), text


@given(st.text(alphabet=[*"ab \n\t\xa0\u2003.-", "\u200b"], max_size=16))
@settings(max_examples=1000, deadline=None)
def test_paragraphs_of_four_words_counted_without_splitting_them_whole(part: str):
    """detect_signals counts a paragraph of 4 words or more with split(None, 3)."""
    assert (len(part.split(None, 3)) >= 4) == (len(part.split()) >= 4)
    ticket = clean_ticket("", f"{part}\n\nx\n\n{part} {part}", 8000)
    plain = sum(1 for p in ticket.own.split("\n\n") if len(p.split()) >= 4)
    assert detect_signals(ticket).paragraphs == plain


_SUBJECT_PIECES = [
    *"Re: |RE : |Fw:|fwd [2]: |TR: |AW: |  |help|vraag|Site|plat|the|İ|Σ|ǅ|-|1|".split("|")
]


@given(st.lists(st.sampled_from(_SUBJECT_PIECES), max_size=6).map("".join))
@settings(max_examples=1000, deadline=None)
def test_generic_subject_with_the_prefix_cut_by_match_is_the_plain_definition(subject: str):
    from classifier.signals import _GENERIC_WORDS, _WORDISH
    from classifier.text import GENERIC_PREFIX

    words = [w.lower() for w in _WORDISH.findall(GENERIC_PREFIX.sub("", subject))]
    plain = not words or all(w in _GENERIC_WORDS for w in words)
    assert subject_is_generic(subject) == plain


def test_the_customers_own_server_under_the_providers_domain_counts():
    # the provider's domain names nothing of the customer's, but a numbered server under it does
    assert find_domains("Onze VPS vps-clb-17.webcanyon.eu is down") == ["vps-clb-17.webcanyon.eu"]
    assert find_domains("ssh naar srv-ant-12.webcanyon.eu faalt") == ["srv-ant-12.webcanyon.eu"]
    for shared in (
        "support.webcanyon.eu",
        "safe.webcanyon.eu",
        "ns1.webcanyon.eu",
        "mx2.webcanyon.eu",
        "smtp1.webcanyon.eu",
        "mail3.webcanyon.eu",
        "webmail01.webcanyon.eu",
        "status2.webcanyon.eu",
    ):
        assert find_domains(f"zie {shared} en ook info@webcanyon.eu") == []
    # a server's name with tags before its number
    assert names_host("onze vps-pro-03 ligt plat")
    assert names_host("server srv-ant-12 geeft geen antwoord")
    assert not names_host("de server-side code en web-shop-2024")


def test_a_subject_joining_two_subjects_is_a_cue_of_a_second_issue():
    assert subject_joins("Notre IP bloquée ? + ajout enregistrement SPF")
    assert subject_joins("website weg na aanpassen A record + outlook nieuwe laptop")
    for one in (
        "C++ compiler op de VPS",
        "Peeters & Zonen: factuur",
        "a+b in de URL",
        "Re: +32 nummer",
    ):
        assert not subject_joins(one)
    joined = detect_signals(clean_ticket("VPS traag + vraag factuur", "Zie onderwerp.", 8000))
    alone = detect_signals(clean_ticket("VPS traag", "Zie onderwerp.", 8000))
    assert joined.second_issue_cues == alone.second_issue_cues + 1


@pytest.mark.parametrize(
    ("text", "confirmed"),
    [
        ("Onze collega's in Gent hebben exact hetzelfde, en klanten bellen ons al.", True),
        ("Nos collègues du bureau de Liège ont le même problème.", True),
        ("My partner tried from home on another provider: same thing.", True),
        ("Your status page lists a major outage.", True),
        # the customer's own test over mobile data or from home is a step tried, not a
        # confirmation
        ("Via 4G op mijn gsm geprobeerd, zelfde probleem.", False),
        ("Van thuis uit lukt het ook niet.", False),
        ("Depuis chez moi, même chose.", False),
        ("De site laadt niet meer sinds 9u.", False),
    ],
)
def test_a_failure_confirmed_apart_from_the_customers_connection(text, confirmed):
    assert (count_confirmed_cues(text) > 0) == confirmed

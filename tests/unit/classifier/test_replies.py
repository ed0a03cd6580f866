"""Follow-up messages: one question per missing code, warnings first, templates validated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classifier.replies import (
    DEFAULT_REPLIES_PATH,
    MISSING_ORDER,
    ReplyTemplatesError,
    follow_up_message,
    load_reply_templates,
)
from classifier.schemas import CATEGORIES, LANGUAGES, MISSING_CODES

SECURE_LINK = "https://safe.webcanyon.eu/"
KNOWLEDGE_BASE = "https://support.webcanyon.eu/"
WHAT_IS_MY_IP = "https://eth0.me/"

# A word that only the question for that code uses, per language.
ASKS_FOR: dict[str, dict[str, str]] = {
    "nl": {
        "server_or_domain": "domeinnaam",
        "error_message": "foutmelding",
        "ip_address": "IP-adres",
        "steps_tried": "geprobeerd",
        "descriptive_subject": "onderwerp",
    },
    "fr": {
        "server_or_domain": "nom de domaine",
        "error_message": "message d'erreur",
        "ip_address": "adresse IP",
        "steps_tried": "essayé",
        "descriptive_subject": "objet",
    },
    "en": {
        "server_or_domain": "domain name",
        "error_message": "error message",
        "ip_address": "IP address",
        "steps_tried": "tried",
        "descriptive_subject": "subject",
    },
}
PASSWORD_WORDS = {
    "nl": ("wachtwoord", "wijzigen"),
    "fr": ("mot de passe", "changer"),
    "en": ("password", "change"),
}
SUPPLIER = {"nl": "leverancier", "fr": "fournisseur", "en": "supplier"}
GREETING = {"nl": "Beste klant,", "fr": "Bonjour,", "en": "Hello,"}
SIGN_OFF = {"nl": "Met vriendelijke groeten,", "fr": "Bien à vous,", "en": "Kind regards,"}
INFRA_NAME = {
    "nl": "een probleem met de hostinginfrastructuur",
    "fr": "un problème lié à l'infrastructure d'hébergement",
    "en": "a problem with the hosting infrastructure",
}


def message(
    language="nl",
    missing=(),
    *,
    password=False,
    category="infrastructure",
    multi=False,
    issues=None,
    templates=None,
):
    return follow_up_message(
        language,
        list(missing),
        contains_password=password,
        category=category,
        multi_issue=multi,
        issues=issues,
        templates=templates,
    )


def shipped_data() -> dict:
    return json.loads(DEFAULT_REPLIES_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "replies.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_test_table_covers_every_language_and_code():
    assert set(ASKS_FOR) == set(LANGUAGES)
    assert all(set(words) == set(MISSING_CODES) for words in ASKS_FOR.values())
    assert set(MISSING_ORDER) == set(MISSING_CODES)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", MISSING_CODES)
def test_asks_for_exactly_the_missing_code(language, code):
    text = message(language, [code])
    assert text is not None
    assert ASKS_FOR[language][code] in text
    for other, word in ASKS_FOR[language].items():
        if other != code:
            assert word not in text, f"{language}: asked for {other} while only {code} is missing"
    assert text.startswith(GREETING[language])
    assert SIGN_OFF[language] in text
    assert text.count("\n- ") == 1  # one question


@pytest.mark.parametrize("language", LANGUAGES)
def test_all_codes_one_question_each_in_policy_order(language):
    text = message(language, reversed(MISSING_CODES))
    positions = [text.index(ASKS_FOR[language][code]) for code in MISSING_ORDER]
    assert positions == sorted(positions)
    assert text.count("\n- ") == len(MISSING_CODES)


def test_duplicate_codes_are_asked_once():
    text = message("en", ["steps_tried", "steps_tried"])
    assert text.count("tried") == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_ip_question_points_to_what_is_my_ip(language):
    assert WHAT_IS_MY_IP in message(language, ["ip_address"])
    assert WHAT_IS_MY_IP not in message(language, ["steps_tried"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_password_warning_has_secure_link_says_change_and_comes_first(language):
    text = message(
        language,
        ["error_message", "server_or_domain"],
        password=True,
        multi=True,
        issues=["infrastructure", "cms_plugins"],
    )
    secret_word, change_word = PASSWORD_WORDS[language]
    paragraphs = text.split("\n\n")
    warning = paragraphs[2]  # after the greeting and the opening
    assert SECURE_LINK in warning
    assert secret_word in warning.lower()
    assert change_word in warning
    assert text.index(SECURE_LINK) < text.index(INFRA_NAME[language])
    assert text.index(SECURE_LINK) < text.index(ASKS_FOR[language]["error_message"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_password_alone_is_enough_for_a_message(language):
    text = message(language, [], password=True, category="product_usage")
    assert text is not None and SECURE_LINK in text
    assert "\n- " not in text  # no questions


@pytest.mark.parametrize("language", LANGUAGES)
def test_out_of_scope_device_note(language):
    text = message(language, [], category="out_of_scope_device")
    assert text is not None
    assert SUPPLIER[language] in text
    assert KNOWLEDGE_BASE in text
    assert SECURE_LINK not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_device_ticket_with_vague_subject_gets_note_then_subject_question(language):
    text = message(language, ["descriptive_subject"], category="out_of_scope_device")
    assert text.index(KNOWLEDGE_BASE) < text.index(ASKS_FOR[language]["descriptive_subject"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_multi_issue_names_the_issues_passed(language):
    templates = load_reply_templates()
    text = message(
        language,
        [],
        category="cms_plugins",
        multi=True,
        issues=["cms_plugins", "product_usage", "invoice"],
    )
    names = templates.for_language(language).categories
    assert f"- {names['cms_plugins']}\n" in text
    assert f"- {names['product_usage']}\n" in text
    assert "- invoice\n" in text
    assert names["infrastructure"] not in text
    assert "cms_plugins" not in text  # codes are shown by their localized names


def test_multi_issue_localized_category_name_example():
    text = message("nl", [], multi=True, issues=["infrastructure", "product_usage"])
    assert "- een probleem met de hostinginfrastructuur" in text


def test_multi_issue_deduplicates_and_keeps_order():
    text = message(
        "en", [], multi=True, issues=["product_usage", "infrastructure", "product_usage"]
    )
    listed = re.findall(r"^- (.+)$", text, flags=re.MULTILINE)
    assert listed == [
        "a question about using or managing your hosting products",
        "a problem with the hosting infrastructure",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_multi_issue_without_issues_still_asks_for_separate_tickets(language):
    text = message(language, [], multi=True)
    assert text is not None
    assert "\n- " not in text


def test_issues_are_ignored_without_multi_issue():
    assert message("en", [], issues=["infrastructure", "invoice"]) is None


@pytest.mark.parametrize("label", ["line one\nline two", "x" * 81, "   "])
def test_issue_labels_must_be_short_single_line(label):
    with pytest.raises(ValueError, match="issue"):
        message("en", [], multi=True, issues=["infrastructure", label])


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_nothing_to_ask_or_warn_gives_none(language, category):
    if category == "out_of_scope_device":
        assert message(language, [], category=category) is not None
    else:
        assert message(language, [], category=category) is None


def test_parts_order_password_device_multi_missing():
    text = message(
        "fr",
        ["descriptive_subject"],
        password=True,
        category="out_of_scope_device",
        multi=True,
        issues=["out_of_scope_device", "product_usage"],
    )
    order = [
        text.index(SECURE_LINK),
        text.index(KNOWLEDGE_BASE),
        text.index("plusieurs problèmes"),
        text.index("objet"),
    ]
    assert order == sorted(order)
    assert text.startswith("Bonjour,\n\nMerci pour votre message.\n\n")
    assert text.endswith("Bien à vous,\nL'équipe support de Webcanyon")


def test_no_placeholder_or_brace_left_in_any_message():
    for language in LANGUAGES:
        text = message(
            language,
            MISSING_CODES,
            password=True,
            category="out_of_scope_device",
            multi=True,
            issues=list(CATEGORIES),
        )
        assert "{" not in text and "}" not in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"language": "de"}, "unknown language"),
        ({"category": "billing"}, "unknown category"),
        ({"missing": ["phone_number"]}, "unknown missing_info code"),
    ],
)
def test_unknown_codes_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        message(**kwargs)


def test_missing_info_as_a_single_string_is_refused():
    with pytest.raises(TypeError):
        follow_up_message(
            "en",
            "ip_address",
            contains_password=False,
            category="infrastructure",
            multi_issue=False,
        )


def test_links_are_data_and_a_language_may_override_one(tmp_path):
    data = shipped_data()
    data["links"]["secure_link"] = "https://vault.example.be/send"
    data["languages"]["fr"]["links"] = {"knowledge_base": "https://support.webcanyon.eu/fr/"}
    templates = load_reply_templates(write(tmp_path, data))
    assert "https://vault.example.be/send" in message("nl", [], password=True, templates=templates)
    assert "https://support.webcanyon.eu/fr/" in message(
        "fr", [], category="out_of_scope_device", templates=templates
    )
    assert "https://support.webcanyon.eu/fr/" not in message(
        "en", [], category="out_of_scope_device", templates=templates
    )


def test_shipped_templates_load_and_are_cached():
    assert load_reply_templates() is load_reply_templates()
    assert load_reply_templates() is load_reply_templates(DEFAULT_REPLIES_PATH)


# --- broken template files -------------------------------------------------------------------


def test_missing_language_names_file_and_language(tmp_path):
    data = shipped_data()
    del data["languages"]["fr"]
    path = write(tmp_path, data)
    with pytest.raises(ReplyTemplatesError) as info:
        load_reply_templates(path)
    assert str(path) in str(info.value)
    assert "missing language(s): fr" in str(info.value)


def test_missing_code_names_language_and_code(tmp_path):
    data = shipped_data()
    del data["languages"]["nl"]["missing_info"]["items"]["ip_address"]
    path = write(tmp_path, data)
    with pytest.raises(
        ReplyTemplatesError,
        match=r"languages\.nl\.missing_info\.items: missing code\(s\): ip_address",
    ) as info:
        load_reply_templates(path)
    assert str(path) in str(info.value)


def test_missing_category_name_is_reported(tmp_path):
    data = shipped_data()
    del data["languages"]["en"]["categories"]["cms_plugins"]
    with pytest.raises(
        ReplyTemplatesError,
        match=r"languages\.en\.categories: missing category code\(s\): cms_plugins",
    ):
        load_reply_templates(write(tmp_path, data))


def test_missing_part_is_reported(tmp_path):
    data = shipped_data()
    del data["languages"]["fr"]["sign_off"]
    with pytest.raises(ReplyTemplatesError, match=r"languages\.fr\.sign_off: Field required"):
        load_reply_templates(write(tmp_path, data))


def test_missing_link_is_reported(tmp_path):
    data = shipped_data()
    del data["links"]["secure_link"]
    with pytest.raises(ReplyTemplatesError, match=r"links: missing link\(s\): secure_link"):
        load_reply_templates(write(tmp_path, data))


def test_bad_json_names_file_and_position(tmp_path):
    path = write(tmp_path, '{"links": {"secure_link": "https://safe.webcanyon.eu/",}}')
    with pytest.raises(ReplyTemplatesError, match="invalid JSON") as info:
        load_reply_templates(path)
    assert str(path) in str(info.value)
    assert "line 1" in str(info.value)


def test_duplicate_key_is_reported(tmp_path):
    text = DEFAULT_REPLIES_PATH.read_text(encoding="utf-8").replace(
        '"greeting": "Hello,",', '"greeting": "Hello,", "greeting": "Hi,",'
    )
    with pytest.raises(ReplyTemplatesError, match="duplicate key 'greeting'"):
        load_reply_templates(write(tmp_path, text))


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ReplyTemplatesError, match="cannot read"):
        load_reply_templates(tmp_path / "nope.json")


def test_unknown_placeholder_is_reported(tmp_path):
    data = shipped_data()
    data["languages"]["en"]["opening"] = "Thanks, {customer_name}."
    with pytest.raises(
        ReplyTemplatesError, match=r"languages\.en\.opening: unknown placeholder\(s\) customer_name"
    ):
        load_reply_templates(write(tmp_path, data))


def test_dropped_link_placeholder_is_reported(tmp_path):
    data = shipped_data()
    data["languages"]["nl"]["password_warning"] = "Stuur nooit wachtwoorden via e-mail."
    with pytest.raises(
        ReplyTemplatesError,
        match=r"languages\.nl\.password_warning: missing placeholder\(s\) \{secure_link\}",
    ):
        load_reply_templates(write(tmp_path, data))


def test_issues_placeholder_only_in_multi_issue_named(tmp_path):
    data = shipped_data()
    data["languages"]["fr"]["opening"] = "Merci {issues}"
    with pytest.raises(ReplyTemplatesError, match=r"languages\.fr\.opening: unknown placeholder"):
        load_reply_templates(write(tmp_path, data))


def test_blank_text_and_unknown_keys_are_reported(tmp_path):
    data = shipped_data()
    data["languages"]["nl"]["greeting"] = "  "
    data["languages"]["nl"]["greting"] = "Dag,"
    with pytest.raises(ReplyTemplatesError) as info:
        load_reply_templates(write(tmp_path, data))
    assert "languages.nl.greeting: text is empty" in str(info.value)
    assert "languages.nl.greting: Extra inputs are not permitted" in str(info.value)


def test_literal_braces_are_allowed(tmp_path):
    data = shipped_data()
    data["languages"]["en"]["opening"] = "Thanks {{really}}."
    templates = load_reply_templates(write(tmp_path, data))
    assert "Thanks {really}." in message("en", ["steps_tried"], templates=templates)

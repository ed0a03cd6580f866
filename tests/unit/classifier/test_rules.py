"""Keyword rules are data: validated on load, matched on lemmas."""

from __future__ import annotations

import json

import pytest

from classifier.features import build_nlp
from classifier.rules import RULES_DIR, RuleSet, load_rule_file, rule_scores, rules_only_prediction


def test_shipped_rule_files_are_valid_and_ids_unique():
    ids = []
    for path in sorted(RULES_DIR.glob("*.json")):
        rule_file = load_rule_file(path)
        assert rule_file.language == path.stem
        ids += [rule.id for rule in rule_file.rules]
        assert all(rule.id.startswith(f"{path.stem}.") for rule in rule_file.rules)
    assert len(ids) == len(set(ids))


def test_rules_match_on_lemmas(tmp_path):
    path = tmp_path / "nl.json"
    path.write_text(
        json.dumps(
            {
                "language": "nl",
                "rules": [
                    {
                        "id": "nl.down",
                        "label": "priority:P1",
                        "weight": 1.5,
                        "phrases": ["server ligt plat"],
                    },
                ],
            }
        )
    )
    nlp = build_nlp("nl", {"servers": "server", "lagen": "liggen", "ligt": "liggen"})
    rules = RuleSet(load_rule_file(path), nlp)
    assert rules.match(nlp("de server staat aan")) == []
    hits = rules.match(nlp("de server lagen plat"))
    assert [h.rule_id for h in hits] == ["nl.down"]
    assert rule_scores(hits)["rule_priority:P1"] == 1.5


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "invalid JSON"),
        (
            '{"language": "nl", "rules": [{"id": "nl.x", "label": "priority:P9", "weight": 1, "phrases": ["a"]}]}',
            "rules.0.label",
        ),
        (
            '{"language": "nl", "rules": [{"id": "nl.x", "label": "multi_issue", "weight": 1, "phrases": [" "]}]}',
            "phrase is empty",
        ),
        ('{"language": "nl", "language": "fr", "rules": []}', "duplicate key"),
    ],
)
def test_a_bad_rule_file_names_the_file_and_the_place(tmp_path, content, fragment):
    path = tmp_path / "nl.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"rule file .*nl\.json") as caught:
        load_rule_file(path)
    assert fragment in str(caught.value)


def test_rules_only_answer_follows_the_guide():
    from classifier.rules import RuleHit

    device = [RuleHit("nl.device", "category:out_of_scope_device", 1.0)]
    assert rules_only_prediction(device) == ("out_of_scope_device", "P4", False)
    down = [
        RuleHit("nl.outage", "category:infrastructure", 1.0),
        RuleHit("nl.server_down", "priority:P1", 1.0),
    ]
    assert rules_only_prediction(down)[:2] == ("infrastructure", "P1")

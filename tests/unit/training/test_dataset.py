"""load_tickets: every fault is reported with file, line and field; nothing is dropped."""

from __future__ import annotations

import json

import pytest

from training.dataset import DatasetError, load_tickets, near_duplicates, shingles


def record(**overrides):
    base = {
        "id": "t-1",
        "subject": "Website bakkerij-devos.be geeft HTTP 500",
        "body": "Sinds vanmorgen krijgen we een HTTP 500 op bakkerij-devos.be. Cache al geleegd.",
        "category": "cms_plugins",
        "priority": "P3",
        "missing_info": [],
        "multi_issue": False,
        "contains_password": False,
        "language": "nl",
        "received_at": "2026-03-02T09:15:00+01:00",
        "channel": "email",
        "plan": "standard",
        "split": "train",
        "source": "handwritten",
    }
    base.update(overrides)
    return base


def write(tmp_path, rows):
    path = tmp_path / "tickets.jsonl"
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_valid_file_loads_every_row(tmp_path):
    path = write(
        tmp_path,
        [
            record(),
            record(
                id="t-2",
                subject="",
                body="Kunnen jullie Thunderbird op mijn laptop zetten?",
                category="out_of_scope_device",
                priority="P4",
                missing_info=["descriptive_subject"],
                split="test",
            ),
        ],
    )
    frame = load_tickets(path)
    assert list(frame["id"]) == ["t-1", "t-2"]
    assert list(frame["line"]) == [1, 2]


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        (record(priority="P5"), "priority", "P1"),
        (record(category="hardware"), "category", "infrastructure"),
        (record(missing_info=["steps_tried", "error_message"]), "missing_info", "sorted"),
        (record(missing_info=["server"]), "missing_info.0", "server_or_domain"),
        (record(multi_issue="no"), "multi_issue", "boolean"),
        (record(received_at="2026-03-02 09:15"), "received_at", "offset"),
        (record(extra="x"), "extra", "not permitted"),
        (record(category="out_of_scope_device", priority="P3"), "priority", "always P4"),
        (record(priority="P4", missing_info=["error_message"]), "missing_info", "P4"),
        (record(priority="P1"), "priority", "infrastructure"),
        (record(subject=" "), "missing_info", "empty subject"),
        (record(split="test", source="generated"), "source", "test split"),
    ],
)
def test_bad_row_names_file_line_and_field(tmp_path, row, field, fragment):
    path = write(
        tmp_path, [record(id="t-0", subject="Mailbox vol", body="Mijn mailbox is vol."), row]
    )
    with pytest.raises(DatasetError) as caught:
        load_tickets(path)
    assert len(caught.value.problems) >= 1
    problem = caught.value.problems[0]
    assert problem.startswith(f"{path}:2: field '{field}'"), problem
    assert fragment in problem


def test_not_json_and_missing_field_are_reported_per_line(tmp_path):
    row = record(id="t-3")
    del row["body"]
    path = write(tmp_path, [record(), "{not json", row])
    with pytest.raises(DatasetError) as caught:
        load_tickets(path)
    problems = caught.value.problems
    assert any(p.startswith(f"{path}:2: field '-': not valid JSON") for p in problems)
    assert any(p.startswith(f"{path}:3: field 'body'") for p in problems)


def test_duplicate_id_and_text(tmp_path):
    path = write(tmp_path, [record(), record(), record(id="t-9")])
    with pytest.raises(DatasetError) as caught:
        load_tickets(path)
    joined = "\n".join(caught.value.problems)
    assert "'t-1' already used on line 1" in joined
    assert f"{path}:3: field 'body': same text as line 1" in joined


def test_near_duplicate_across_splits_is_refused(tmp_path):
    body = (
        "Goedemorgen, onze webshop op schoenen-vandamme.be laadt sinds gisteren heel traag en "
        "soms krijgen klanten een time-out bij het afrekenen. We hebben de cache al geleegd."
    )
    near = body.replace("gisteren", "gisterenavond")  # one word changed: still a near duplicate
    path = write(tmp_path, [record(body=body), record(id="t-2", body=near, split="test")])
    with pytest.raises(DatasetError) as caught:
        load_tickets(path)
    assert any("near duplicate of train ticket t-1" in p for p in caught.value.problems)


def test_near_duplicates_respect_threshold():
    a = "de server vps12 reageert niet meer sinds tien uur vanochtend graag snel hulp"
    b = "de server vps12 reageert niet meer sinds tien uur vanochtend graag snel hulp aub"
    c = "hoe maak ik een nieuw e-mailadres aan voor onze nieuwe collega in de boekhouding"
    assert near_duplicates([("x", a)], [("y", b), ("z", c)]) == [("x", "y", 0.9)]
    assert shingles("VPS down") == frozenset({("vps", "down")})

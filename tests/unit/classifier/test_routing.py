"""Routing: most specific key wins, the shipped mapping covers everything, bad files fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.routing import (
    DEFAULT_ROUTING_PATH,
    Routing,
    RoutingError,
    load_routing,
    route,
)
from classifier.schemas import CATEGORIES, PRIORITIES


def write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "routing.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


MAPPING = Routing(
    default="fallback",
    routes={
        "infrastructure:P1": "infra-urgent",
        "infrastructure:*": "infra",
        "*:P1": "on-call",
        "*:P4": "low",
    },
)


def test_specific_beats_category_wildcard_beats_priority_wildcard_beats_default():
    assert route("infrastructure", "P1", MAPPING) == "infra-urgent"
    assert route("infrastructure", "P4", MAPPING) == "infra"  # category:* beats *:P4
    assert route("cms_plugins", "P1", MAPPING) == "on-call"
    assert route("cms_plugins", "P3", MAPPING) == "fallback"


def test_resolve_tells_which_key_decided():
    assert MAPPING.resolve("infrastructure", "P2") == ("infra", "infrastructure:*")
    assert MAPPING.resolve("product_usage", "P2") == ("fallback", "default")


@pytest.mark.parametrize(
    ("category", "priority", "queue"),
    [
        ("infrastructure", "P1", "infra-urgent"),
        ("infrastructure", "P2", "infra-urgent"),
        ("infrastructure", "P3", "infra"),
        ("cms_plugins", "P3", "web"),
        ("product_usage", "P4", "service-desk"),
        ("out_of_scope_device", "P4", "service-desk-device"),
    ],
)
def test_shipped_mapping(category, priority, queue):
    assert route(category, priority) == queue


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_shipped_mapping_routes_every_category_and_priority_explicitly(category, priority):
    queue, key = load_routing().resolve(category, priority)
    assert queue
    assert key != "default", f"{category}:{priority} falls back to the default queue"


def test_shipped_mapping_is_cached():
    assert load_routing() is load_routing()
    assert load_routing() is load_routing(DEFAULT_ROUTING_PATH)


@pytest.mark.parametrize(("category", "priority"), [("billing", "P1"), ("infrastructure", "P5")])
def test_unknown_codes_are_refused(category, priority):
    with pytest.raises(ValueError, match="unknown"):
        route(category, priority, MAPPING)


def test_custom_file(tmp_path):
    path = write(tmp_path, {"default": "desk", "routes": {"cms_plugins:P2": "web-urgent"}})
    routing = load_routing(path)
    assert route("cms_plugins", "P2", routing) == "web-urgent"
    assert route("cms_plugins", "P3", routing) == "desk"


def test_routes_may_be_omitted(tmp_path):
    assert (
        route("infrastructure", "P1", load_routing(write(tmp_path, {"default": "desk"}))) == "desk"
    )


@pytest.mark.parametrize(
    ("routes", "match"),
    [
        ({"infra:P1": "x"}, r"'infra:P1': unknown category 'infra'"),
        ({"infrastructure:P0": "x"}, r"unknown priority 'P0'"),
        ({"infrastructure": "x"}, r"not of the form '<category>:<priority>'"),
        ({"infrastructure:P1:x": "x"}, r"not of the form"),
        ({"*:*": "x"}, r"use 'default' instead"),
        (
            {"infrastructure:P1": ""},
            r"routes\.infrastructure:P1: queue name is empty",
        ),
        ({"infrastructure:P1": " infra"}, r"spaces at either end"),
    ],
)
def test_bad_route_names_file_and_key(tmp_path, routes, match):
    path = write(tmp_path, {"default": "desk", "routes": routes})
    with pytest.raises(RoutingError, match=match) as info:
        load_routing(path)
    assert str(path) in str(info.value)


def test_missing_default_is_reported(tmp_path):
    with pytest.raises(RoutingError, match="default: Field required"):
        load_routing(write(tmp_path, {"routes": {"cms_plugins:*": "web"}}))


def test_unknown_top_level_key_is_reported(tmp_path):
    with pytest.raises(RoutingError, match="route: Extra inputs are not permitted"):
        load_routing(write(tmp_path, {"default": "desk", "route": {}}))


def test_bad_json_is_reported(tmp_path):
    path = write(tmp_path, '{"default": "desk", "routes": {"cms_plugins:*": "web",}}')
    with pytest.raises(RoutingError, match="invalid JSON") as info:
        load_routing(path)
    assert str(path) in str(info.value)


def test_duplicate_key_is_reported(tmp_path):
    text = '{"default": "desk", "routes": {"cms_plugins:*": "web", "cms_plugins:*": "cms"}}'
    with pytest.raises(RoutingError, match="duplicate key 'cms_plugins:\\*'"):
        load_routing(write(tmp_path, text))


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(RoutingError, match="cannot read"):
        load_routing(tmp_path / "missing.json")

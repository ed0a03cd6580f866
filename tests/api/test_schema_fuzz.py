"""A schema fuzzer (schemathesis) finds no server error and no undocumented status or shape."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import KEYS


def test_fuzzer_finds_no_undocumented_status(api):
    if api.backend != "sqlite":
        return  # the fuzzer runs once, against the embedded store
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = {"Authorization": f"Bearer {KEYS['admin']}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def fuzz(case):
            # a ticket with neither subject nor body is schema-valid but refused (422, named
            # field): a rule JSON Schema cannot state, so that one check is left out
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        fuzz()
        checked.append(operation.label)
    assert "POST /v1/predict" in checked and "POST /v1/corrections" in checked

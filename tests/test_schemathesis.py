"""schemathesis against /api/openapi: generated requests for every operation an analyst, a
viewer and an anonymous visitor see, checked for server errors and for answers the
document does not describe.

Each operation gets a few valid (positive) and a few invalid (negative) examples under a
fixed seed, so the file stays well under a minute on two cores. The operations are driven
with ``APIOperation.as_strategy`` (schemathesis's lazy pytest fixtures do not run on
pytest 9).
"""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from tests.conftest import bearer

pytestmark = pytest.mark.slow

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 1}


@pytest.fixture(scope="module")
def st_app(module_app):
    return module_app


def run_schemathesis(app, role: str | None) -> tuple[Counter, list[str]]:
    """Every operation × both generation modes; returns (status counts, failures)."""
    # the WSGI transport does not undo the gzip JSON answers get when a client accepts it
    headers = {**bearer(app, role), "Accept-Encoding": "identity"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi", app, headers=headers)
    statuses: Counter = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, n in EXAMPLES.items():
            checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

            @settings(max_examples=n, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case):
                response = case.call_and_validate(headers=headers, checks=checks)
                statuses[response.status_code] += 1

            try:
                exercise()
            except Exception as exc:  # collect all, report together
                failures.append(f"{mode.value} {operation.label}: {str(exc)[:400]}")
    return statuses, failures


@pytest.mark.parametrize("role", ["analyst", "viewer", None], ids=["analyst", "viewer",
                                                                  "anonymous"])
def test_generated_requests_get_no_server_error_and_match_the_document(st_app, role):
    statuses, failures = run_schemathesis(st_app, role)
    print(f"\nschemathesis as {role or 'anonymous'}: {sum(statuses.values())} requests, "
          f"status codes {dict(sorted(statuses.items()))}, {len(failures)} failures")
    assert not failures, "\n".join(failures[:10])
    assert statuses[200] > 0 and not any(code >= 500 for code in statuses)

"""Schemathesis against the web app's OpenAPI schema: no input makes it fail."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.e2e.conftest import row_counts
from tests.harness.servers import Servers


@pytest.fixture
def app_schema(web: Servers):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{web.app_url}/openapi.json")


schema = schemathesis.pytest.from_fixture("app_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_app_fail(case, web: Servers) -> None:  # type: ignore[no-untyped-def]
    before = row_counts(web.database_url)
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code)
    if case.path.startswith("/agent/api/"):
        # Without a login nothing is read or changed.
        assert response.status_code in (400, 401, 403, 404, 405, 422)
        assert row_counts(web.database_url) == before

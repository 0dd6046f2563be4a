"""A request that fails because the database is busy or unreachable answers 503 ("try
again"), a page for the pages and the API's error shape for the API; any other error
is left to the 500 handler: it is a bug."""

import json

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError
from django.test import RequestFactory

from portal.unavailable import DatabaseUnavailableMiddleware

middleware = DatabaseUnavailableMiddleware(lambda request: None)


@pytest.mark.parametrize("error", [OperationalError("database is locked"), InterfaceError("connection closed")])
def test_a_database_that_cannot_answer_is_a_503(error):
    page = middleware.process_exception(RequestFactory().post("/accounts/login/"), error)
    assert page.status_code == 503
    assert "The database is busy or unavailable right now" in page.content.decode()

    api = middleware.process_exception(RequestFactory().get("/api/v1/servers/"), error)
    assert api.status_code == 503
    assert json.loads(api.content) == {
        "error": "DependencyUnavailable",
        "message": "the database is unavailable; try again later",
        "details": {},
    }


@pytest.mark.parametrize("error", [IntegrityError("duplicate key"), ValueError("bug")])
def test_any_other_error_is_left_to_the_500_handler(error):
    assert middleware.process_exception(RequestFactory().get("/servers/"), error) is None

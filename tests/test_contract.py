"""The response check the whole suite runs under catches what the document does not describe."""

import httpx

from tests.contract import contract

ITEM = "http://testserver/api/v1/projects/WEB/items/7"
ITEM_BODY = {"type": "https://timebox.dev/problems/not-found", "title": "Not Found", "status": 404}


def _response(
    method: str, url: str, status: int, *, headers: dict[str, str], json: object = None
) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=json, request=httpx.Request(method, url))


def _problem_headers() -> dict[str, str]:
    return {"content-type": "application/problem+json", "x-request-id": "r1"}


def test_a_declared_problem_passes() -> None:
    response = _response("GET", ITEM, 404, headers=_problem_headers(), json=ITEM_BODY)
    assert contract().problems(response) == []


def test_an_undeclared_status_is_caught() -> None:
    response = _response("GET", ITEM, 418, headers=_problem_headers(), json=ITEM_BODY)
    assert "status not declared" in contract().problems(response)[0]


def test_a_body_off_its_schema_is_caught() -> None:
    response = _response("GET", ITEM, 404, headers=_problem_headers(), json={"title": 3})
    found = contract().problems(response)
    assert any("'type' is a required property" in problem for problem in found), found
    assert any("3 is not of type 'string'" in problem for problem in found), found


def test_an_undeclared_content_type_is_caught() -> None:
    headers = {"content-type": "application/json", "x-request-id": "r1"}
    response = _response("GET", ITEM, 404, headers=headers, json=ITEM_BODY)
    assert "content type 'application/json' not declared" in contract().problems(response)[0]


def test_headers_must_be_declared_where_sent_and_sent_where_required() -> None:
    sent = {**_problem_headers(), "location": "/elsewhere"}
    response = _response("GET", ITEM, 404, headers=sent, json=ITEM_BODY)
    assert contract().problems(response) == [
        "GET /api/v1/projects/{key}/items/{number} -> 404: header location is sent but not declared"
    ]
    missing = _response("GET", ITEM, 404, headers={"content-type": "application/problem+json"})
    assert "required header x-request-id is missing" in " ".join(contract().problems(missing))


def test_literal_paths_win_over_templates_and_unknown_operations_are_caught() -> None:
    found = contract().operation("POST", "/api/v1/projects/WEB/items/batch")
    assert found is not None and found[0] == "/api/v1/projects/{key}/items/batch"
    response = _response("PUT", ITEM, 200, headers={"x-request-id": "r1"}, json={})
    assert contract().problems(response) == [
        "PUT /api/v1/projects/WEB/items/7 is not in the document"
    ]


def test_unrouted_answers_must_still_be_problems_and_a_405_names_its_methods() -> None:
    url = "http://testserver/api/v1/nowhere"
    plain = httpx.Response(
        404, headers={"content-type": "text/plain"}, text="nope", request=httpx.Request("GET", url)
    )
    assert "content type 'text/plain' not declared" in contract().problems(plain)[0]
    bare = _response("POST", ITEM, 405, headers=_problem_headers(), json=ITEM_BODY)
    assert contract().problems(bare) == [
        "POST /api/v1/projects/WEB/items/7 -> 405: a 405 without the methods it allows"
    ]
    allowed = {**_problem_headers(), "allow": "GET, HEAD, PATCH, DELETE"}
    assert contract().problems(_response("PUT", ITEM, 405, headers=allowed, json=ITEM_BODY)) == []

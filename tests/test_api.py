"""POST /api/deals: bearer key, JSON only, field errors, idempotent on crm_id, send_invite."""

import json

import pytest

from debrief.store import get_store

KEY = {"Authorization": "Bearer test-api-key"}
BODY = {
    "company": "Acme Widgets",
    "contact_name": "Jane Doe",
    "contact_email": "jane@acme.example.com",
    "rep_email": "rep@example.test",
    "value": 12500,
    "lost_on": "2024-03-01",
    "competitor": "Rival Corp",
    "rep_reason": "price",
    "rep_reasons": ["trust"],
    "notes": "From the CRM workflow.",
    "claims": ["SSO included", "Go-live in two weeks"],
    "crm_id": "006XYZ",
}


def post(client, body=BODY, headers=KEY, **kwargs):
    return client.post("/api/deals", json=body, headers=headers, **kwargs)


def deals(app):
    with app.app_context():
        return get_store().table("deals").all()


def test_a_deal_is_created_with_201_and_its_url(app, client):
    response = post(client)
    assert response.status_code == 201
    body = response.get_json()
    [deal] = deals(app)
    assert body == {
        "id": deal["id"],
        "url": f"https://debrief.example.test/deals/{deal['id']}",
        "invite": None,
        "language": "en",  # DEBRIEF_DEFAULT_LANGUAGE, as the deal names none
    }
    assert deal["source"] == "api" and deal["company"] == "Acme Widgets"
    assert deal["claims"] == ["SSO included", "Go-live in two weeks"]
    assert deal["value"] == 12500.0 and deal["rep_reasons"] == ["trust"]


def test_the_same_crm_id_returns_the_existing_deal_with_200(app, client):
    first = post(client).get_json()
    again = post(client, {**BODY, "company": "Changed name"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert [d["company"] for d in deals(app)] == ["Acme Widgets"]


def test_only_company_and_rep_email_are_required(app, client):
    response = post(client, {"company": "Bare Co", "rep_email": "REP@example.test"})
    assert response.status_code == 201
    [deal] = deals(app)
    assert deal["contact_email"] is None and deal["rep_reason"] is None
    assert deal["lost_on"]  # today, as on the web form


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic test-api-key"},
     {"Authorization": "Bearer "}, {"Authorization": "test-api-key"}],
)  # fmt: skip
def test_a_missing_or_wrong_key_is_401_json(app, client, headers):
    response = post(client, headers=headers)
    assert response.status_code == 401
    assert response.is_json and "authorization" in response.get_json()["errors"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert deals(app) == []


def test_no_keys_configured_means_no_access(app, client):
    app.config["API_KEYS"] = []
    assert post(client).status_code == 401


def test_a_body_that_is_not_json_is_415(app, client):
    response = client.post("/api/deals", data="company=Acme", headers=KEY)
    assert response.status_code == 415
    assert "content_type" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("post", "/api/nothing", 404), ("put", "/api/deals", 405), ("delete", "/api/deals", 405)],
)
def test_a_json_body_to_no_route_is_404_or_405_not_a_web_form_415(
    app, client, method, path, status
):
    """The form-body check is for web forms; a JSON client with a wrong path or verb is told so."""
    response = client.open(path, method=method.upper(), json=BODY, headers=KEY)
    assert response.status_code == status
    assert "web form" not in response.get_json()["errors"]["request"]
    assert deals(app) == []


@pytest.mark.parametrize(
    "raw", ['{"company": "Acme",', "", "{'single': 1}", "[" * 100_000 + "]" * 100_000]
)
def test_malformed_json_is_400_with_a_message(app, client, raw):
    response = client.post(
        "/api/deals", data=raw, headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["errors"]["body"].startswith("malformed JSON")


def test_a_body_that_is_not_an_object_is_400(app, client):
    response = post(client, ["company", "Acme"])
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"body": "must be a JSON object"}}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"company": ""}, "company", "required"),
        ({"company": None}, "company", "required"),
        ({"company": 42}, "company", "must be a string"),
        ({"rep_email": "nobody@example.test"}, "rep_email", "no active account"),
        ({"rep_email": None}, "rep_email", "required"),
        ({"contact_email": "jane at acme"}, "contact_email", "email address"),
        ({"contact_name": "Jane\r\nBcc: x@example.com"}, "contact_name", "one line"),
        ({"value": "lots"}, "value", "number"),
        ({"value": True}, "value", "must be a number"),
        ({"value": -1}, "value", "number"),
        ({"lost_on": "03/01/2024"}, "lost_on", "YYYY-MM-DD"),
        ({"rep_reason": "bribery"}, "rep_reason", "Not a valid choice"),
        ({"rep_reasons": "price"}, "rep_reasons", "list of strings"),
        ({"rep_reasons": ["price", "bribery"]}, "rep_reasons", "not a valid choice"),
        ({"claims": "SSO"}, "claims", "list of strings"),
        ({"claims": ["ok", 3]}, "claims", "list of strings"),
        ({"claims": ["two\nlines"]}, "claims", "one line"),
        ({"send_invite": "yes"}, "send_invite", "true or false"),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_invalid_fields_are_422_with_a_message_per_field(app, client, changes, field, message):
    response = post(client, {**BODY, **changes})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert message.lower() in errors[field].lower()
    assert deals(app) == []


def test_several_bad_fields_are_reported_together(app, client):
    response = post(client, {"contact_email": "nope", "rep_email": "x@y.test"})
    errors = response.get_json()["errors"]
    assert {"company", "contact_email", "rep_email"} <= set(errors)


def test_a_numeric_crm_id_is_accepted(app, client):
    assert post(client, {**BODY, "crm_id": 4711}).status_code == 201
    assert post(client, {**BODY, "crm_id": "4711"}).status_code == 200


def test_send_invite_mails_the_buyer_at_once(app, client, smtp_server):
    port, handler = smtp_server
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    response = post(client, {**BODY, "send_invite": True})
    assert response.status_code == 201
    assert response.get_json()["invite"] == {"status": "sent"}
    assert handler.received()["To"].addresses[0].addr_spec == "jane@acme.example.com"
    # The repeat reports the invitation's state and sends nothing more.
    again = post(client, {**BODY, "send_invite": True})
    assert again.status_code == 200 and again.get_json()["invite"] == {"status": "sent"}
    assert len(handler.envelopes) == 1


def test_send_invite_reports_a_mail_error_but_keeps_the_deal(app, client):
    from conftest import free_port

    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    response = post(client, {**BODY, "send_invite": True})
    assert response.status_code == 201
    invite = response.get_json()["invite"]
    assert invite["status"] == "failed" and "Connection refused" in invite["error"]
    assert len(deals(app)) == 1


def test_send_invite_needs_a_contact_email(app, client):
    body = {**BODY, "contact_email": None, "send_invite": True}
    response = post(client, body)
    assert response.status_code == 422
    assert "contact_email" in response.get_json()["errors"]["send_invite"]


def test_the_url_uses_base_url_not_the_host_header(app, client):
    response = post(client, headers={**KEY, "Host": "evil.example"})
    assert response.get_json()["url"].startswith("https://debrief.example.test/deals/")


def test_other_methods_and_oversized_bodies_get_json_errors(app, client):
    response = client.get("/api/deals", headers=KEY)
    assert response.status_code == 405 and response.is_json
    app.config["MAX_CONTENT_LENGTH"] = 1000
    big = json.dumps({**BODY, "notes": "x" * 2000})
    response = client.post(
        "/api/deals", data=big, headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and response.is_json

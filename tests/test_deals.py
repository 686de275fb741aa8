"""Deals: the form, the list with its filters, the deal page, editing, and who sees what."""

import errno
import io
import re
from pathlib import Path

import pytest
from conftest import csrf_token
from disk import refuse_writes

from debrief.auth import users
from debrief.deals import imports, service
from debrief.store import get_store

GOOD = {
    "company": "Acme Widgets",
    "contact_name": "Jane Doe",
    "contact_email": "jane@acme.example.com",
    "value": "12,500",
    "lost_on": "2024-03-01",
    "competitor": "Rival Corp",
    "rep_reason": "price",
    "rep_reasons": ["trust", "speed"],
    "notes": "They went quiet after the demo.",
    "claims": "SSO included in every plan\n\n  Go-live in two weeks  \n",
    "crm_id": "",
}


def post_deal(client, path="/deals/new", **changes):
    """Submit the deal form as a browser would (with its CSRF token)."""
    data = {**GOOD, **changes, "csrf_token": csrf_token(client, path)}
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


def make_deal(app, owner_email="rep@example.test", **fields):
    """A deal stored through the service, owned by owner_email."""
    with app.app_context():
        store = get_store()
        owner = users.find_user(store, owner_email)
        data = {"company": "Beta Ltd", "contact_email": "buyer@beta.example.com", **fields}
        deal, _ = service.create_deal(store, data, owner, "form", created_by=owner["id"])
        return deal


def stored_deals(app):
    with app.app_context():
        return get_store().table("deals").all()


def test_a_rep_records_a_lost_deal_and_sees_it(app, client, auth):
    auth.login()
    response = post_deal(client)
    assert response.status_code == 302
    [deal] = stored_deals(app)
    assert response.headers["Location"] == f"/deals/{deal['id']}"
    assert deal["company"] == "Acme Widgets"
    assert deal["value"] == 12500.0
    assert deal["lost_on"] == "2024-03-01"
    assert deal["rep_reason"] == "price"
    assert deal["rep_reasons"] == ["trust", "speed"]
    assert deal["claims"] == ["SSO included in every plan", "Go-live in two weeks"]
    assert deal["source"] == "form"
    with app.app_context():
        rep = users.find_user(get_store(), "rep@example.test")
    assert deal["rep_id"] == rep["id"] == deal["created_by"]

    page = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    for text in ("Acme Widgets", "Rival Corp", "SSO included in every plan", "12,500", "Trust"):
        assert text in page
    assert "Not sent yet" in page and "Preview and send" in page
    listing = client.get("/deals").get_data(as_text=True)
    assert "Acme Widgets" in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"company": ""}, "company", "This field is required"),
        ({"rep_reason": ""}, "rep_reason", "Choose the main reason"),
        ({"contact_email": "not-an-address"}, "contact_email", "Enter an email address"),
        ({"value": "lots"}, "value", "is not a number"),
        ({"value": "-5"}, "value", "is not a number"),
        ({"value": "nan"}, "value", "is not a number"),
        ({"value": "1.200"}, "value", "unclear"),
        ({"lost_on": "yesterday"}, "lost_on", "YYYY-MM-DD"),
        ({"lost_on": "2999-01-01"}, "lost_on", "cannot be in the future"),
        ({"rep_reasons": ["price", "bribery"]}, "rep_reasons", "not a valid choice"),
        ({"claims": "x" * 501}, "claims", "under 500 characters"),
        ({"claims": "\n".join(f"claim {i}" for i in range(31))}, "claims", "at most 30"),
        ({"contact_name": "Jane\r\nBcc: all@example.com"}, "contact_name", "one line"),
        ({"company": "Acme\x00"}, "company", "one line"),
    ],
)
def test_bad_input_is_refused_with_a_field_message_and_nothing_stored(
    app, client, auth, changes, field, message
):
    auth.login()
    response = post_deal(client, **changes)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert error, f"no error shown for {field}"
    assert message.lower() in error.group(1).lower()
    assert stored_deals(app) == []
    # What was typed is kept, so nothing is lost.
    assert 'value="Acme' in html or changes.get("company") is not None


def test_a_deal_without_contact_email_is_kept_as_no_contact(app, client, auth):
    auth.login()
    post_deal(client, contact_email="", contact_name="")
    [deal] = stored_deals(app)
    assert deal["contact_email"] is None
    page = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert "No contact" in page and "Preview and send" not in page
    assert "no contact" in client.get("/deals").get_data(as_text=True)


def test_the_form_without_csrf_token_is_refused(app, client, auth):
    auth.login()
    response = client.post("/deals/new", data=GOOD)
    assert response.status_code == 400
    assert stored_deals(app) == []


@pytest.mark.parametrize("path", ["/deals", "/deals/new", "/deals/import", "/deals/1"])
def test_deal_pages_need_sign_in(app, client, path):
    make_deal(app)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "path", ["/deals/{id}", "/deals/{id}/edit", "/deals/{id}/invite", "/deals/999999"]
)
def test_a_rep_gets_404_for_another_reps_deal(app, client, auth, path):
    deal = make_deal(app, "other@example.test", company="Secret Co")
    auth.login("rep@example.test")
    response = client.get(path.format(id=deal["id"]))
    assert response.status_code == 404
    assert "Secret Co" not in response.get_data(as_text=True)


def test_a_rep_cannot_post_changes_or_sends_to_another_reps_deal(app, client, auth):
    deal = make_deal(app, "other@example.test", company="Secret Co")
    auth.login("rep@example.test")
    token = csrf_token(client, "/deals")
    for path in (f"/deals/{deal['id']}/edit", f"/deals/{deal['id']}/invite"):
        response = client.post(path, data={**GOOD, "csrf_token": token, "send": "1"})
        assert response.status_code == 404
    response = client.post(f"/deals/{deal['id']}/retry", data={"csrf_token": token})
    assert response.status_code == 404
    with app.app_context():
        assert get_store().table("deals").get(deal["id"])["company"] == "Secret Co"
        assert get_store().table("invitations").count() == 0


def test_reps_list_only_their_own_deals_and_managers_see_all(app, client, auth):
    make_deal(app, "rep@example.test", company="Mine Inc")
    make_deal(app, "other@example.test", company="Theirs Inc")
    auth.login("rep@example.test")
    listing = client.get("/deals").get_data(as_text=True)
    assert "Mine Inc" in listing and "Theirs Inc" not in listing
    auth.logout()
    auth.login("boss@example.test")
    listing = client.get("/deals").get_data(as_text=True)
    assert "Mine Inc" in listing and "Theirs Inc" in listing


def test_company_search_and_status_filter(app, client, auth):
    make_deal(app, company="Northwind Traders")
    make_deal(app, company="Southwind Ltd", contact_email=None)
    make_deal(app, company="Contoso")
    auth.login()

    def companies(query):
        html = client.get("/deals" + query).get_data(as_text=True)
        return set(re.findall(r'<a href="/deals/\d+">([^<]+)</a>', html))

    assert companies("?q=WIND") == {"Northwind Traders", "Southwind Ltd"}
    assert companies("?status=no-contact") == {"Southwind Ltd"}
    assert companies("?status=pending&q=wind") == {"Northwind Traders"}
    assert companies("?status=answered") == set()


def test_the_list_is_newest_first_and_paginated(app, client, auth):
    for n in range(service.PER_PAGE + 3):
        make_deal(app, company=f"Company {n:02d}")
    auth.login()
    first = client.get("/deals").get_data(as_text=True)
    names = re.findall(r'<a href="/deals/\d+">(Company \d+)</a>', first)
    assert len(names) == service.PER_PAGE
    assert names[0] == f"Company {service.PER_PAGE + 2:02d}"
    assert "Page 1 of 2" in first
    second = client.get("/deals?page=2").get_data(as_text=True)
    assert re.findall(r'<a href="/deals/\d+">(Company \d+)</a>', second) == [
        "Company 02",
        "Company 01",
        "Company 00",
    ]
    # A page number out of range shows the last page, not an error.
    assert client.get("/deals?page=99").status_code == 200


def test_editing_a_deal_changes_claims_and_keeps_the_rest(app, client, auth):
    deal = make_deal(app, claims=["Old claim"], rep_reason="price", lost_on="2024-01-02")
    auth.login()
    form = client.get(f"/deals/{deal['id']}/edit").get_data(as_text=True)
    assert "Old claim" in form and 'value="2024-01-02"' in form
    response = post_deal(
        client,
        f"/deals/{deal['id']}/edit",
        company="Beta Ltd",
        claims="New claim one\nNew claim two",
        rep_reasons=[],
    )
    assert response.status_code == 302
    [saved] = stored_deals(app)
    assert saved["claims"] == ["New claim one", "New claim two"]
    assert saved["rep_reasons"] == []
    assert saved["source"] == "form" and saved["id"] == deal["id"]


def test_a_crm_id_cannot_be_used_twice(app, client, auth):
    first = make_deal(app, crm_id="OPP-1")
    second = make_deal(app, company="Other")
    auth.login()
    response = post_deal(client, crm_id="opp-1")
    assert response.status_code == 200
    assert f"Deal {first['id']} (Beta Ltd) has this CRM id already" in response.get_data(
        as_text=True
    )
    response = post_deal(client, f"/deals/{second['id']}/edit", crm_id="OPP-1")
    assert response.status_code == 200
    assert len(stored_deals(app)) == 2


@pytest.mark.parametrize("path", ["/deals/new", "edit"])
def test_a_crm_id_conflict_names_no_deal_the_reader_may_not_open(app, client, auth, path):
    """CRM id -> deal -> anonymous debrief: another rep learns only that the id is taken."""
    taken = make_deal(app, crm_id="OPP-SECRET", company="Hidden Co")
    own = make_deal(app, "other@example.test", company="Mine")
    auth.login("other@example.test")
    url = f"/deals/{own['id']}/edit" if path == "edit" else path
    html = post_deal(client, url, crm_id="opp-secret").get_data(as_text=True)
    assert "This CRM id is already recorded." in html
    assert f"Deal {taken['id']}" not in html and "Hidden Co" not in html
    auth.logout()
    auth.login("boss@example.test")
    url = f"/deals/{own['id']}/edit" if path == "edit" else path
    html = post_deal(client, url, crm_id="opp-secret", rep_id=str(own["rep_id"]))
    assert f"Deal {taken['id']} (Hidden Co) has this CRM id already" in html.get_data(as_text=True)


def test_a_manager_records_a_deal_for_a_rep(app, client, auth):
    auth.login("boss@example.test")
    with app.app_context():
        rep = users.find_user(get_store(), "other@example.test")
    assert "Otto Other" in client.get("/deals/new").get_data(as_text=True)
    post_deal(client, rep_id=str(rep["id"]))
    [deal] = stored_deals(app)
    assert deal["rep_id"] == rep["id"]
    assert deal["created_by"] != rep["id"]


def test_a_rep_cannot_give_a_deal_to_someone_else(app, client, auth):
    auth.login("rep@example.test")
    assert 'name="rep_id"' not in client.get("/deals/new").get_data(as_text=True)
    with app.app_context():
        other = users.find_user(get_store(), "other@example.test")
        me = users.find_user(get_store(), "rep@example.test")
    post_deal(client, rep_id=str(other["id"]))
    [deal] = stored_deals(app)
    assert deal["rep_id"] == me["id"]


def test_user_text_is_escaped_on_every_page(app, client, auth):
    evil = '<script>alert("x")</script>'
    deal = make_deal(app, company=evil, claims=[evil], notes=evil, competitor=evil)
    auth.login()
    for path in ("/deals", f"/deals/{deal['id']}", f"/deals/{deal['id']}/invite"):
        html = client.get(path).get_data(as_text=True)
        assert evil not in html
        assert "&lt;script&gt;" in html


# --- the deal value: one rule (deals/amount.py) for the form, the API and CSV files -------------

GOOD_VALUES = [
    ("12,500", 12500.0), ("12 500", 12500.0), ("12500.50", 12500.5), ("$12,500", 12500.0),
    ("1,000,000,000,000", 1e12), ("0", 0.0), ("99.5", 99.5),
]  # fmt: skip
BAD_VALUES = [
    "1_000", "1e308", "1e5", "١٢٣", "１２", "-0", "-5", "+5", "NaN", "inf", "Infinity",
    "1,000,000,000,001", "12.345", "1.200", "12,50", "0x10",
]  # fmt: skip


def value_channels(app, client, raw: str):
    """The value sent through the form, the API and a CSV import: (stored deals, messages)."""
    messages = []
    response = post_deal(client, value=raw, crm_id="")
    if response.status_code != 302:
        html = response.get_data(as_text=True)
        messages.append(re.search(r'id="value-error">([^<]*)<', html).group(1))
    body = {"company": "Acme", "rep_email": "rep@example.test", "value": raw}
    response = client.post(
        "/api/deals", json=body, headers={"Authorization": "Bearer test-api-key"}
    )
    if response.status_code != 201:
        messages.append(response.get_json()["errors"]["value"])
    with app.app_context():
        store = get_store()
        rep = users.find_user(store, "rep@example.test")
        csv = f'Account,Amount\nAcme,"{raw}"\n'
        summary = imports.import_csv(store, io.StringIO(csv, newline=""), rep)
    messages += [p.reason for p in summary.problems]
    return stored_deals(app), messages


@pytest.mark.parametrize(("raw", "expected"), GOOD_VALUES)
def test_a_good_value_is_read_the_same_by_every_channel(app, client, auth, raw, expected):
    auth.login()
    deals, messages = value_channels(app, client, raw)
    assert messages == []
    assert [d["value"] for d in deals] == [expected] * 3


@pytest.mark.parametrize("raw", BAD_VALUES)
def test_a_bad_value_is_refused_by_every_channel(app, client, auth, raw):
    auth.login()
    deals, messages = value_channels(app, client, raw)
    assert deals == []
    assert len(messages) == 3 and all(raw.replace("&", "&amp;") in m or raw in m for m in messages)


@pytest.mark.parametrize("number", ["1e308", "12.345", "-0.0", "1e13", "NaN"])
def test_a_json_number_value_follows_the_same_rule(app, client, number):
    body = '{"company": "Acme", "rep_email": "rep@example.test", "value": ' + number + "}"
    response = client.post(
        "/api/deals",
        data=body,
        headers={"Authorization": "Bearer test-api-key", "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422) and "value" in str(response.get_json()["errors"])
    assert stored_deals(app) == []


# --- undo an import, delete a deal (managers) -----------------------------------------------------

EXPORT = (
    "Account,Contact Email\n"
    "Imported One,one@one.example.com\nImported Two,two@two.example.com\nImported Three,\n"
)


def upload_csv(client, text: str):
    token = csrf_token(client, "/deals/import")
    return client.post(
        "/deals/import",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "crm.csv")},
        content_type="multipart/form-data",
    )


def invite(app, deal_id: int) -> str:
    """An open invitation for the deal; the link's raw token."""
    from world import open_link

    with app.app_context():
        return open_link(get_store(), deal_id)[1]


def companies(app) -> set[str]:
    return {d["company"] for d in stored_deals(app)}


def test_a_manager_undoes_an_import_and_invited_deals_are_listed_and_kept(app, client, auth):
    make_deal(app, company="By hand")
    auth.login("boss@example.test")
    assert "<strong>3</strong> lost deals imported" in upload_csv(client, EXPORT).get_data(True)
    one = next(d for d in stored_deals(app) if d["company"] == "Imported One")
    invite(app, one["id"])
    html = client.get("/deals").get_data(as_text=True)
    assert "Undo this import: 2 deals" in html and "1 already invited" in html
    import_id = int(re.search(r'action="/deals/imports/(\d+)/undo"', html).group(1))
    url = f"/deals/imports/{import_id}/undo"
    token = csrf_token(client, "/deals")
    confirm = client.post(url, data={"csrf_token": token})  # the first press asks
    assert confirm.status_code == 200 and "Remove 2 deals" in confirm.get_data(as_text=True)
    assert "Imported One" in confirm.get_data(as_text=True)  # listed as kept
    assert len(stored_deals(app)) == 4
    done = client.post(url, data={"csrf_token": token, "confirmed": "y"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "2 deals removed" in page and f"{one['id']} (Imported One)" in page
    assert companies(app) == {"By hand", "Imported One"}
    assert "Undo this import" not in client.get("/deals").get_data(as_text=True)


def test_a_second_submit_of_the_undo_says_so_and_keeps_the_first_undos_record(app, client, auth):
    auth.login("boss@example.test")
    upload_csv(client, EXPORT)
    html = client.get("/deals").get_data(as_text=True)
    import_id = int(re.search(r'action="/deals/imports/(\d+)/undo"', html).group(1))
    url = f"/deals/imports/{import_id}/undo"
    data = {"csrf_token": csrf_token(client, "/deals"), "confirmed": "y"}
    assert "3 deals removed" in client.post(url, data=data, follow_redirects=True).get_data(True)
    with app.app_context():
        first = get_store().table("imports").get(import_id)
    again = client.post(url, data=data, follow_redirects=True)  # a double click, a reload
    assert "This import was undone already." in again.get_data(as_text=True)
    with app.app_context():
        assert get_store().table("imports").get(import_id) == first
    assert first["removed"] == first["deal_ids"] and len(first["removed"]) == 3


def invite_just_before_deals_are_removed(monkeypatch, store, deal_id: int) -> None:
    """A rep's send (or the cron's `invites send`) creates the deal's invitation the moment
    before an undo or a delete removes deals: the race between the two tables."""
    from debrief.deals import invitations
    from debrief.store import Table

    for name in ("remove", "remove_many"):
        real = getattr(Table, name)

        def racing(table, *args, real=real, **kwargs):
            if table.name == "deals":
                invitations.create_invitation(store, store.table("deals").get(deal_id), 30)
            return real(table, *args, **kwargs)

        monkeypatch.setattr(Table, name, racing)


def every_invitation_has_its_deal(store) -> bool:
    return all(store.table("deals").get(i["deal_id"]) for i in store.table("invitations").all())


def test_a_deal_invited_while_its_import_is_undone_is_kept(app, monkeypatch):
    with app.app_context():
        store = get_store()
        boss = users.find_user(store, "boss@example.test")
        summary = imports.import_csv(store, io.StringIO(EXPORT), boss)
        first = summary.deal_ids[0]
        invite_just_before_deals_are_removed(monkeypatch, store, first)
        removed, _ = imports.undo_import(store, summary.import_id)
        assert first not in removed and store.table("deals").get(first) is not None
        assert sorted(removed) == sorted(summary.deal_ids[1:])
        assert every_invitation_has_its_deal(store)


def test_an_invitation_sent_for_a_deal_removed_meanwhile_is_refused_and_not_mailed(app):
    """`debrief invites send` lists the deals first, then mails them one by one for minutes."""
    from pathlib import Path

    from debrief.deals import sending

    deal = make_deal(app, company="Undone meanwhile")  # the command's list, read before
    with app.app_context():
        store = get_store()
        store.table("deals").remove(deal["id"])  # an undo or a delete, meanwhile
        with pytest.raises(sending.InviteError, match="does not exist any more"):
            sending.send_invitation(store, app.config, deal)
        assert store.table("invitations").all() == [] and store.table("tokens").all() == []
    assert list((Path(app.config["DATA_DIR"]) / "outbox").glob("*.eml")) == []


def test_a_deal_invited_while_it_is_deleted_leaves_no_invitation_behind(app, monkeypatch):
    deal = make_deal(app, company="Deleted while invited")
    with app.app_context():
        store = get_store()
        invite_just_before_deals_are_removed(monkeypatch, store, deal["id"])
        service.delete_deal(store, deal["id"])
        assert store.table("deals").get(deal["id"]) is None
        assert every_invitation_has_its_deal(store)


def test_reps_cannot_undo_an_import(app, client, auth):
    auth.login("boss@example.test")
    upload_csv(client, EXPORT)
    import_id = re.search(r"/deals/imports/(\d+)/undo", client.get("/deals").get_data(True))[1]
    auth.logout()
    for rep in ("rep@example.test", "other@example.test"):
        auth.login(rep)
        assert "Undo this import" not in client.get("/deals").get_data(as_text=True)
        data = {"csrf_token": csrf_token(client, "/deals"), "confirmed": "y"}
        assert client.post(f"/deals/imports/{import_id}/undo", data=data).status_code == 403
        auth.logout()
    assert len(stored_deals(app)) == 3
    auth.login("boss@example.test")
    data = {"csrf_token": csrf_token(client, "/deals"), "confirmed": "y"}
    assert client.post("/deals/imports/999/undo", data=data).status_code == 404
    assert (
        client.post(f"/deals/imports/{import_id}/undo", data={"confirmed": "y"}).status_code == 400
    )
    assert len(stored_deals(app)) == 3


def test_a_manager_deletes_a_deal_with_its_invitation_after_a_confirmation(app, client, auth):
    deal = make_deal(app, company="Gone Co")
    kept = make_deal(app, company="Kept Co")
    token = invite(app, deal["id"])
    assert client.get(f"/s/{token}").status_code == 200
    auth.login("boss@example.test")
    page = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert f'action="/deals/{deal["id"]}/delete"' in page
    csrf = csrf_token(client, f"/deals/{deal['id']}")
    confirm = client.post(f"/deals/{deal['id']}/delete", data={"csrf_token": csrf})
    assert confirm.status_code == 200 and "Delete this deal" in confirm.get_data(as_text=True)
    assert len(stored_deals(app)) == 2
    done = client.post(f"/deals/{deal['id']}/delete", data={"csrf_token": csrf, "confirmed": "y"})
    assert done.status_code == 302 and done.location == "/deals"
    assert companies(app) == {"Kept Co"}
    with app.app_context():
        store = get_store()
        assert store.table("invitations").find("deal_id", deal["id"]) == []
        assert store.table("tokens").all() == []
    assert client.get(f"/deals/{deal['id']}").status_code == 404
    assert app.test_client().get(f"/s/{token}").status_code == 404  # the mailed link is dead
    assert kept["id"] in {d["id"] for d in stored_deals(app)}


def test_a_deal_with_an_answer_is_not_deleted(app, client, auth):
    deal = make_deal(app, company="Answered Co")
    with app.app_context():
        get_store().table("answers").insert({"deal_id": deal["id"], "own_words": "x"})
    auth.login("boss@example.test")
    csrf = csrf_token(client, f"/deals/{deal['id']}")
    response = client.post(
        f"/deals/{deal['id']}/delete",
        data={"csrf_token": csrf, "confirmed": "y"},
        follow_redirects=True,
    )
    assert "a deal with an answer is kept" in response.get_data(as_text=True)
    assert companies(app) == {"Answered Co"}


def test_reps_cannot_delete_deals(app, client, auth):
    own = make_deal(app, company="Own Co")
    auth.login("rep@example.test")
    assert "/delete" not in client.get(f"/deals/{own['id']}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, "/deals"), "confirmed": "y"}
    assert client.post(f"/deals/{own['id']}/delete", data=data).status_code == 403
    auth.logout()
    auth.login("other@example.test")
    data = {"csrf_token": csrf_token(client, "/deals"), "confirmed": "y"}
    assert client.post(f"/deals/{own['id']}/delete", data=data).status_code == 404
    assert companies(app) == {"Own Co"}


def test_delete_pressed_twice_deletes_once_and_the_second_press_is_404(app, client, auth):
    deal = make_deal(app, company="Gone Co")
    make_deal(app, company="Kept Co")
    auth.login("boss@example.test")
    data = {"csrf_token": csrf_token(client, f"/deals/{deal['id']}"), "confirmed": "y"}
    first = client.post(f"/deals/{deal['id']}/delete", data=data)
    second = client.post(f"/deals/{deal['id']}/delete", data=data)
    assert first.status_code == 302 and second.status_code == 404
    assert companies(app) == {"Kept Co"}


def test_undo_pressed_twice_undoes_once_and_keeps_the_record_of_what_went(app, client, auth):
    make_deal(app, company="By hand")
    auth.login("boss@example.test")
    upload_csv(client, EXPORT)
    one = next(d for d in stored_deals(app) if d["company"] == "Imported One")
    invite(app, one["id"])
    html = client.get("/deals").get_data(as_text=True)
    import_id = int(re.search(r'action="/deals/imports/(\d+)/undo"', html).group(1))
    url = f"/deals/imports/{import_id}/undo"
    data = {"csrf_token": csrf_token(client, "/deals"), "confirmed": "y"}
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        undone = get_store().table("imports").get(import_id)
    again = client.post(url, data=data, follow_redirects=True)
    assert "This import was undone already" in again.get_data(as_text=True)
    assert "0 deals removed" not in again.get_data(as_text=True)
    assert companies(app) == {"By hand", "Imported One"}
    with app.app_context():
        assert get_store().table("imports").get(import_id) == undone  # when, and which deals
    assert len(undone["removed"]) == 2


def test_a_full_disk_refuses_a_deletion_and_the_deal_stays(app, client, auth, monkeypatch):
    deal = make_deal(app, company="Stays Co")
    auth.login("boss@example.test")
    data = {"csrf_token": csrf_token(client, f"/deals/{deal['id']}"), "confirmed": "y"}
    refuse_writes(monkeypatch, Path(app.config["DATA_DIR"]), errno.ENOSPC)
    response = client.post(f"/deals/{deal['id']}/delete", data=data)
    assert response.status_code == 503
    assert "Cannot save right now" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert companies(app) == {"Stays Co"}
    assert client.get(f"/deals/{deal['id']}").status_code == 200


# --- the deal page and the rep's lessons ------------------------------------------------------


def publish_entry(app, **fields):
    """An entry written through the knowledge base's publishing path (file and index)."""
    import datetime

    from debrief import entries
    from debrief.kb import service as kb

    values = {"kind": "lesson", "date": datetime.date(2024, 5, 1), "body": "Text.", **fields}
    with app.app_context():
        return kb.publish(entries.Entry(**values))


def test_write_a_lesson_about_this_deal_from_its_page(app, client, auth):
    deal = make_deal(app, competitor="Rival Corp", rep_reason="price")
    auth.login()
    html = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    link = f'href="/kb/lessons/new?deal={deal["id"]}">Write a lesson about this deal</a>'
    assert link in html
    form = client.get(f"/kb/lessons/new?deal={deal['id']}").get_data(as_text=True)
    assert "Write a lesson about Beta Ltd" in form
    assert f'<option selected value="{deal["id"]}">' in form
    url = f"/kb/lessons/new?deal={deal['id']}"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "title": "Quote in the first call",
            "body": "Say the price early.",
            "deal": str(deal["id"]),
            "save": "Save lesson",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/deals/{deal['id']}"
    html = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    lessons = re.search(r'aria-labelledby="lessons-h".*?</section>', html, re.S).group(0)
    assert ">Quote in the first call</a>" in lessons


def test_another_reps_deal_gives_the_plain_lesson_form(app, client, auth):
    deal = make_deal(app, "other@example.test", company="Initech")
    auth.login()
    form = client.get(f"/kb/lessons/new?deal={deal['id']}").get_data(as_text=True)
    assert "Initech" not in form and "Back to the deal" not in form
    assert "<h1>Write a lesson</h1>" in form
    assert '<option selected value="">' in form


def learned_section(client, deal_id: int) -> str:
    """The "What the team learned" card of a deal page."""
    html = client.get(f"/deals/{deal_id}").get_data(as_text=True)
    return re.search(r'aria-labelledby="learned-h".*?</section>', html, re.S).group(0)


def test_what_the_team_learned_on_the_same_competitor_and_reasons(app, client, auth):
    deal = make_deal(app, competitor="Acme CRM", rep_reason="price", rep_reasons=["support"])
    other = make_deal(app, "other@example.test", company="Initech", competitor="Acme CRM")
    # Another rep's anonymous debrief: the file names no deal; only the answer ties the two.
    anonymous = publish_entry(
        app, kind="debrief", title="A buyer's debrief: Went with a competitor, mainly Price",
        rep="other@example.test", competitor="Acme CRM", prospect_reasons=["price"],
    )  # fmt: skip
    support = publish_entry(app, title="Answer within the hour", rep_reasons=["support"])
    publish_entry(app, title="Unrelated", competitor="Globex", rep_reasons=["timing"])
    # This deal's own debrief (anonymous, found through its answer) and lesson stay out of it.
    own = publish_entry(
        app, kind="debrief", title="Own debrief", competitor="Acme CRM", prospect_reasons=["price"]
    )
    publish_entry(app, title="Own lesson", competitor="Acme CRM", deal=deal["id"],
                  rep="rep@example.test", rep_reasons=["price"])  # fmt: skip
    with app.app_context():
        from debrief.survey.service import answer_record

        for owner, entry in ((deal, own), (other, anonymous)):
            data = {"outcome": "competitor", "reason": "price", "competitor": "Acme CRM"}
            record = answer_record(owner, {"id": owner["id"]}, data)
            get_store().table("answers").insert({**record, "entry_slug": entry.slug})
    auth.login()
    learned = learned_section(client, deal["id"])
    slugs = re.findall(r'href="/kb/([^"]+)"', learned)
    assert slugs == [anonymous.slug, support.slug]  # competitor and price before support alone
    assert "Shares: Acme CRM, Price" in learned and "Shares: Support" in learned
    # Nothing ties the anonymous debrief to its deal: no company, no deal number, no deal link.
    assert "Initech" not in learned and "/deals/" not in learned
    assert f"#{other['id']}" not in learned


# --- the list: Rep and Value columns, the rep filter, the sort, checked parameters ---------------


def listed(client, query: str = "") -> list[str]:
    """The companies on the list page, in the order shown."""
    html = client.get("/deals" + query).get_data(as_text=True)
    return re.findall(r'<a href="/deals/\d+">([^<]+)</a>', html)


@pytest.fixture
def priced(app):
    """Four deals of two reps: lost on different days, of different values, one without."""
    make_deal(app, company="Old Big", value=90000, lost_on="2024-01-10")
    make_deal(app, company="New Small", value=1200.5, lost_on="2024-06-01")
    make_deal(app, "other@example.test", company="Mid None", lost_on="2024-03-15")
    make_deal(app, "other@example.test", company="Newest Mid", value=30000, lost_on="2024-07-04")


def test_the_list_shows_each_deals_rep_and_value(priced, client, auth):
    auth.login("boss@example.test")
    html = client.get("/deals").get_data(as_text=True)
    assert '<th scope="col">Rep</th>' in html and '<th scope="col" class="num">Value</th>' in html
    row = re.search(r"<tr>\s*<td[^>]*><a[^>]*>Old Big</a>.*?</tr>", html, re.S).group(0)
    assert "Rita Rep" in row and "90,000" in row
    row = re.search(r"<tr>\s*<td[^>]*><a[^>]*>New Small</a>.*?</tr>", html, re.S).group(0)
    assert "1,200.50" in row
    row = re.search(r"<tr>\s*<td[^>]*><a[^>]*>Mid None</a>.*?</tr>", html, re.S).group(0)
    assert "Otto Other" in row and "—" in row


def test_the_deal_page_shows_the_value_as_the_list_and_the_form_write_it(app, client, auth):
    """One rule (deals.amount): 90,000 on the list is 90,000 on its page, not 90,000.00."""
    whole = make_deal(app, company="Whole", value=90000)
    cents = make_deal(app, company="Cents", value=1200.5)
    auth.login()
    for deal, shown in ((whole, "90,000"), (cents, "1,200.50")):
        page = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
        assert f"<dt>Value</dt><dd>{shown}</dd>" in page
        assert f'value="{shown}"' in client.get(f"/deals/{deal['id']}/edit").get_data(True)


def test_the_list_is_sorted_by_lost_date_or_by_value(priced, client, auth):
    auth.login("boss@example.test")
    by_date = ["Newest Mid", "New Small", "Mid None", "Old Big"]
    assert listed(client) == by_date
    assert listed(client, "?sort=lost") == by_date
    # Highest value first; a deal without a value last.
    assert listed(client, "?sort=value") == ["Old Big", "Newest Mid", "New Small", "Mid None"]


def test_a_manager_filters_by_rep_and_a_rep_sees_only_their_own(app, priced, client, auth):
    with app.app_context():
        other = users.find_user(get_store(), "other@example.test")
    auth.login("boss@example.test")
    html = client.get("/deals").get_data(as_text=True)
    assert '<select id="rep" name="rep">' in html and "Otto Other" in html
    assert listed(client, f"?rep={other['id']}") == ["Newest Mid", "Mid None"]
    assert listed(client, f"?rep={other['id']}&sort=value") == ["Newest Mid", "Mid None"]
    auth.logout()
    auth.login("rep@example.test")
    html = client.get("/deals").get_data(as_text=True)
    assert 'name="rep"' not in html  # a rep's list holds only their deals: nothing to filter
    assert listed(client) == ["New Small", "Old Big"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?status=<script>", "Status: Not a valid choice"),
        ("?sort=price", "Sort by: Not a valid choice"),
        ("?rep=abc", "Rep: Not a valid choice"),
        ("?rep=999", "Rep: Not a valid choice"),
        ("?page=abc", "Page: Not a valid integer value"),
        ("?page=0", "Page: Number must be at least 1"),
        ("?q=" + "x" * 201, "Company: Field cannot be longer than 200 characters"),
    ],
)
def test_bad_list_parameters_are_a_400_with_a_message(priced, client, auth, query, message):
    auth.login("boss@example.test")
    response = client.get("/deals" + query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "<script>" not in html.split("</header>", 1)[1].replace("&lt;script&gt;", "")
    # The list still shows, with the default for the refused value.
    assert len(re.findall(r'<a href="/deals/\d+">', html)) >= 2


def test_a_rep_cannot_filter_on_another_rep(app, priced, client, auth):
    with app.app_context():
        other = users.find_user(get_store(), "other@example.test")
    auth.login("rep@example.test")
    response = client.get(f"/deals?rep={other['id']}")
    assert response.status_code == 400
    assert "Mid None" not in response.get_data(as_text=True)

"""The prospect's pages: /s/<token> (the form), its thank-you page and /s/<token>/optout."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState

from debrief import i18n
from debrief.auth import users
from debrief.deals import invitations
from debrief.deals.commands import Caught, on_remind
from debrief.deals.views import add_panel
from debrief.index import after_full_sync
from debrief.ratelimit import get_limiter
from debrief.security import csrf
from debrief.store import Store, get_store
from debrief.survey import answers, link, notices, repair, service
from debrief.survey.forms import OptOutForm, survey_form

bp = Blueprint("survey", __name__, url_prefix="/s")

# Every request of the app is counted, so the rep's notices are sent between requests. Not only
# the survey's: the notice waits for a pause in all of this process's requests, since its CPU
# time (GIL held) would slow whatever request runs beside it, a deal page or a static file as
# much as an answer. Counting is a lock and two numbers per request, nothing more.
bp.before_app_request(notices.request_began)
bp.teardown_app_request(notices.request_ended)


@bp.record_once
def repair_owed_entries(state: BlueprintSetupState) -> None:
    """At each app start, and after each periodic full sync of the index, write the entries that
    a kill or a full entries folder left owed by stored answers (repair.repair_quietly)."""
    app = state.app
    after_full_sync(app, lambda: repair.repair_quietly(get_store()))
    with app.app_context():
        repair.repair_quietly(get_store())


@bp.record_once
def catch_up_on_remind(state: BlueprintSetupState) -> None:
    """`debrief invites remind` (cron) also sends the reps' notices and writes the entries that
    a crash left owed (the deals feature runs the step without knowing the survey)."""
    on_remind(state.app, _catch_up)


def _catch_up(store: Store, config: dict[str, Any]) -> Caught:
    """The survey's step of `invites remind`: the notices and entries still missing."""
    # A rep's "answer arrived" mail is sent after the response; one cut off by a crash is here.
    notified, failed = notices.catch_up(store, config)
    # So is an answer's entry that a crash or a full entries folder left unwritten.
    repaired = repair.repair_owed_entries(store)
    return Caught(
        summary=f"{notified} rep notice(s) sent, {failed} failed",
        lines=(repaired.summary(),),
        failed=bool(failed or repaired.owed),
    )


@bp.url_value_preprocessor
def buyer_language(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Every page under /s/<token>, error pages too, in the buyer's language: the one they
    picked on the page, else their deal's, else DEBRIEF_DEFAULT_LANGUAGE. Runs before the
    CSRF check, so a stale form's 400 page is in their language as well."""
    chosen = i18n.chosen_language()
    g.chosen_language = chosen
    if chosen is None:
        store = get_store()
        invitation = invitations.find_by_token(store, (values or {}).get("token"))
        deal = service.deal_for(store, invitation) if invitation else None
        chosen = i18n.deal_language(deal or {})
    i18n.set_buyer_language(chosen)


_CLOSED_PAGES = {
    "answered": ("survey/received.html", 200),
    "opted-out": ("survey/opted_out.html", 200),
    "expired": ("survey/expired.html", 410),
}


@bp.after_request
def private_headers(response: Response) -> Response:
    """The token is in the URL: never leak it in a Referer, never keep the page in a cache."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _invitation_or_404(token: str) -> dict[str, Any]:
    """The token's invitation; unknown tokens count against the address, then 404 (or 429)."""
    store = get_store()
    invitation = invitations.find_by_token(store, token)
    if invitation is not None:
        return invitation  # a real link is never throttled
    key = f"survey:addr:{request.remote_addr}"
    # A miss that cannot be counted raises ratelimit.Unavailable, an OSError: a 503 page.
    if get_limiter().attempt([key], current_app.config["TOKEN_MISSES"], 60) is None:
        abort(429)
    abort(404)


def _page(template: str, invitation: dict[str, Any], **context: Any) -> str:
    """A buyer's page, told whose the deal is: each one says who will read the answer."""
    rep = service.rep_first_name(get_store(), invitation["deal_id"])
    return render_template(template, invitation=invitation, rep=rep, **context)


def _closed(state: str, invitation: dict[str, Any]):
    """The kind page for a link that no longer shows the form."""
    template, code = _CLOSED_PAGES[state]
    return _page(template, invitation), code


@bp.route("/<token>", methods=["GET", "POST"])
def answer(token: str):
    """Show the questions; store the answer once on a valid submit."""
    store = get_store()
    invitation = _invitation_or_404(token)
    state = link.link_state(store, invitation)
    if state != "open":
        return _closed(state, invitation)
    deal = service.deal_for(store, invitation) or abort(404)
    form = survey_form(deal.get("claims") or [])
    if "lang" in request.form:  # a language button: the same answers again, nothing checked
        return _page("survey/form.html", invitation, form=form, token=token)
    if form.validate_on_submit():
        data = {**form.answer_data(), "language": i18n.page_language()}
        stored = service.submit_answer(store, current_app.config, invitation, data)
        if stored is None:  # a second tab or a double click lost the race
            return _closed("answered", invitation)
        # Only the browser that answered sees the answer again, not whoever gets the link later.
        session["answered"] = invitation["id"]
        return redirect(url_for(".thanks", token=token, lang=g.chosen_language))
    if request.method == "GET":
        link.mark_opened(store, invitation)
    return _page("survey/form.html", invitation, form=form, token=token)


@bp.get("/<token>/thanks")
def thanks(token: str):
    """The buyer's own answer as they gave it, and who will see it: nothing the rep recorded."""
    invitation = _invitation_or_404(token)
    found = service.answer_for_invitation(get_store(), invitation["id"])
    if found is None:
        return redirect(url_for(".answer", token=token, lang=g.chosen_language))
    if session.get("answered") != invitation["id"]:
        return _closed("answered", invitation)  # the link, in another browser: nothing shown
    return _page("survey/thanks.html", invitation, answer=found)


# RFC 8058 one-click unsubscribe: mail clients POST `List-Unsubscribe=One-Click` to the
# List-Unsubscribe URL with no page and so no CSRF token. The view is exempt from CSRFProtect;
# the button on the page still carries a token, checked by OptOutForm itself.
@csrf.exempt
@bp.route("/<token>/optout", methods=["GET", "POST"])
def optout(token: str):
    """GET shows one button (mail scanners prefetch links); POST stops all mail to the address."""
    invitation = _invitation_or_404(token)
    form = OptOutForm()
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"
    if one_click or form.validate_on_submit():
        link.opt_out(get_store(), invitation)
        return _page("survey/opted_out.html", invitation, just_now=True)
    code = 400 if request.method == "POST" else 200
    return _page("survey/optout.html", invitation, form=form, token=token), code


@bp.record_once
def answer_on_the_deal_page(state: BlueprintSetupState) -> None:
    """The deal page shows the buyer's answer (templates/survey/_answer.html)."""
    add_panel(state.app, "survey/_answer.html", answer_panel)


def answer_panel(deal: dict[str, Any]) -> dict[str, Any] | None:
    """For the deal page: the buyer's answer beside the rep's reasons, or None."""
    found = answers.for_deal(get_store(), deal["id"])
    if found is None:
        return None
    user = g.get("user")
    sees_identity = users.may_see_deal(user, deal)
    return {"answer": found, "rows": service.compare(deal, found), "sees_identity": sees_identity}

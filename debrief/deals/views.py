"""Deal pages: the list, record and edit a deal, the deal page, preview and send, CSV upload."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from debrief import taxonomy
from debrief.auth.views import is_manager, login_required, manager_required
from debrief.deals import csvimport, forms, home, imports, sending, service
from debrief.kb import learned
from debrief.kb import service as kb_service
from debrief.store import get_store

bp = Blueprint("deals", __name__, url_prefix="/deals")

# The parts other features add to the deal page (the survey's: the buyer's answer), each a
# template and the function giving what it shows: the deals feature shows them without knowing
# those features.
_PANELS = "debrief.deals.panels"


def add_panel(app: Any, template: str, view: Callable[[dict[str, Any]], Any]) -> None:
    """Show `template` on every deal page with `panel` = view(deal); nothing when that is None."""
    app.extensions.setdefault(_PANELS, []).append((template, view))


def _panels(deal: dict[str, Any]) -> list[tuple[str, Any]]:
    """(template, panel) of each part other features add to this deal's page."""
    shown = ((template, view(deal)) for template, view in current_app.extensions.get(_PANELS, []))
    return [(template, panel) for template, panel in shown if panel is not None]


def _deal_or_404(deal_id: int) -> dict:
    """The deal if the signed-in user may see it; 404 otherwise (ids cannot be probed)."""
    deal = service.get_deal_for(get_store(), g.user, deal_id)
    if deal is None:
        abort(404)
    return deal


def _reps() -> list[tuple[int, str]] | None:
    """The rep choices for managers; None for reps, who always own what they record."""
    return service.rep_choices(get_store()) if is_manager() else None


def rep_home():
    """A rep's home page (the app's `/`): new answers, deals waiting, lessons still to write."""
    store = get_store()
    since = home.visit(store, g.user)
    lists = home.rep_home(
        store, g.user, since, lambda deal_id: kb_service.wrote_lesson(deal_id, g.user["email"])
    )
    return render_template("deals/home.html", home=lists, shown=home.SHOWN)


@bp.get("")
@login_required
def index():
    """The deals this user may see, by lost date or value, filtered by status, company and rep."""
    store = get_store()
    form = forms.ListFilters(formdata=request.args)
    if is_manager():
        form.rep.choices += taxonomy.options((str(i), n) for i, n in service.rep_names(store))
    form.validate()
    rep = form.value("rep")
    rows = service.visible_deals(
        store, g.user, form.value("status") or None, (form.value("q") or "").strip(),
        rep_id=int(rep) if rep else None, sort=form.value("sort"),
    )  # fmt: skip
    shown, page, pages = service.page_of(rows, form.value("page") or 1)
    args = {name: form.value(name) for name in ("q", "status", "rep", "sort")}
    return render_template(
        "deals/index.html",
        form=form,
        problems=form.problems(),
        batches=imports.recent_batches(store) if is_manager() else [],
        action_form=forms.ActionForm(),
        rows=shown,
        total=len(rows),
        page=page,
        pages=pages,
        statuses=service.STATUS_LABELS,
        args={k: v for k, v in args.items() if v and (k, v) != ("sort", "lost")},
    ), 400 if form.errors else 200


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Record a lost deal."""
    form = forms.deal_form(_reps(), rep_id=g.user["id"])
    if form.validate_on_submit():
        deal, created = service.create_deal(
            get_store(), form.deal_data(), g.user, "form", created_by=g.user["id"]
        )
        if created:
            flash("Deal saved. Preview the invitation when you are ready.", "ok")
            return redirect(url_for("deals.show", deal_id=deal["id"]))
        form.crm_id.errors.append(service.crm_id_taken(g.user, deal))
    return render_template("deals/form.html", form=form, deal=None)


@bp.get("/<int:deal_id>")
@login_required
def show(deal_id: int):
    """The deal: facts, claims, the invitation's timeline and the buyer's answer."""
    deal = _deal_or_404(deal_id)
    page = service.deal_page(get_store(), deal)
    return render_template(
        "deals/show.html",
        deal=deal,
        action_form=forms.ActionForm(),
        statuses=service.STATUS_LABELS,
        lessons=kb_service.deal_lessons(deal_id, deal),
        learned=learned.for_deal(deal),
        panels=_panels(deal),
        **page,
    )


@bp.route("/<int:deal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(deal_id: int):
    """Change a deal's facts, reasons and claims."""
    deal = _deal_or_404(deal_id)
    form = forms.deal_form(_reps(), deal=deal)
    if form.validate_on_submit():
        try:
            service.update_deal(get_store(), deal_id, form.deal_data(), g.user)
        except service.DealError as exc:
            getattr(form, exc.field or "company").errors.append(str(exc))
        else:
            flash("Deal saved.", "ok")
            return redirect(url_for("deals.show", deal_id=deal_id))
    return render_template("deals/form.html", form=form, deal=deal)


@bp.route("/<int:deal_id>/invite", methods=["GET", "POST"])
@login_required
def invite(deal_id: int):
    """Preview the exact invitation with an optional personal sentence; send it."""
    deal = _deal_or_404(deal_id)
    store = get_store()
    page = service.deal_page(store, deal)
    saved_note = (page["invitation"] or {}).get("personal_note", "")
    form = forms.InviteForm(data={"personal_note": saved_note})
    if form.validate_on_submit() and form.send.data:
        return _send(deal, form.personal_note.data)
    note = form.personal_note.data if not form.personal_note.errors else saved_note
    mail = sending.preview(store, current_app.config, deal, note)
    return render_template(
        "deals/invite.html", deal=deal, form=form, mail=mail, statuses=service.STATUS_LABELS, **page
    )


@bp.post("/<int:deal_id>/retry")
@login_required
def retry(deal_id: int):
    """Send a failed invitation again, with the personal sentence it had."""
    deal = _deal_or_404(deal_id)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    return _send(deal, None)


def _send(deal: dict, note: str | None):
    """Send, say what happened, and go back to the deal page."""
    try:
        invitation = sending.send_invitation(get_store(), current_app.config, deal, note)
    except sending.InviteError as exc:
        flash(str(exc), "error")
    else:
        if invitation["status"] == "sent":
            flash(f"Invitation sent to {invitation['email']}.", "ok")
        else:
            flash(f"The mail could not be sent: {invitation.get('error')}", "error")
    return redirect(url_for("deals.show", deal_id=deal["id"]))


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_csv():
    """Upload a CRM export; show what was imported and every line that was not."""
    form = forms.ImportForm()
    summary = None
    if form.validate_on_submit():
        upload = form.file.data
        stream = io.TextIOWrapper(upload.stream, encoding="utf-8", newline="")
        try:
            summary = imports.import_csv(
                get_store(),
                stream,
                g.user,
                max_rows=current_app.config["IMPORT_MAX_ROWS"],
                read_owners=is_manager(),  # a rep's import is the rep's, whatever the file says
                file_name=forms.upload_name(upload.filename),
            )
        except imports.TooManyRows as exc:
            form.file.errors.append(str(exc))
    return render_template(
        "deals/import.html", form=form, summary=summary, headers=csvimport.FIELD_HEADERS
    )


def _confirmation(template: str, **context):
    """The confirmation page at the first press; None once the manager has confirmed."""
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    return None if form.confirmed.data else render_template(template, form=form, **context)


@bp.post("/<int:deal_id>/delete")
@login_required
def delete(deal_id: int):
    """Delete a deal (managers): a confirmation first, then the deal and its invitation go."""
    deal = _deal_or_404(deal_id)
    if not is_manager():
        abort(403)
    if (page := _confirmation("deals/confirm_delete.html", deal=deal)) is not None:
        return page
    try:
        service.delete_deal(get_store(), deal_id)
    except service.DealError as exc:
        flash(str(exc), "error")
        return redirect(url_for("deals.show", deal_id=deal_id))
    flash(f"Deal {deal_id} ({deal['company']}) deleted, with its invitation.", "ok")
    return redirect(url_for("deals.index"))


@bp.post("/imports/<int:import_id>/undo")
@manager_required
def undo_import(import_id: int):
    """Undo an import (managers): a confirmation first; deals already invited are kept."""
    batch = imports.get_batch(get_store(), import_id)
    if batch is None:
        abort(404)
    if (page := _confirmation("deals/confirm_undo.html", batch=batch)) is not None:
        return page
    try:
        removed, kept = imports.undo_import(get_store(), import_id)
    except service.DealError as exc:  # a second submit, or a page from before another's undo
        flash(str(exc), "error")
        return redirect(url_for("deals.index"))
    message = f"Import undone: {len(removed)} deal{'' if len(removed) == 1 else 's'} removed."
    if kept:
        message += f" {len(kept)} already invited kept: " + ", ".join(
            f"{d['id']} ({d['company']})" for d in kept
        )
    flash(message, "ok")
    return redirect(url_for("deals.index"))

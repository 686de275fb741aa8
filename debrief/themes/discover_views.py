"""Proposed themes (managers): see them, create one and tag its entries, or dismiss one."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app, flash, g, redirect, render_template, request, url_for

from debrief.auth.views import manager_required
from debrief.store import get_store
from debrief.themes import charts, proposals, service
from debrief.themes.forms import ConfirmForm, ThemeForm
from debrief.themes.views import bp


def _forms(shown: proposals.Shown, failed: tuple[str, ThemeForm] | None = None) -> dict:
    """A create form (the suggested name filled in) and a dismiss form per proposal; each has
    the proposal's id as prefix, so every field id on the page is unique."""
    forms = {}
    for p in shown.proposals:
        if failed and failed[0] == p["id"]:
            create = failed[1]
        else:
            create = ThemeForm(formdata=None, prefix=f"p{p['id']}", data={"name": p["name"]})
        forms[p["id"]] = (create, ConfirmForm(formdata=None, prefix=f"d{p['id']}"))
    return forms


def _page(shown: proposals.Shown, failed: tuple[str, ThemeForm] | None = None, status=200):
    """The discover page."""
    return render_template(
        "themes/discover.html", shown=shown, forms=_forms(shown, failed),
        month_label=charts.month_label,
    ), status  # fmt: skip


def _with_tagged() -> bool:
    """Whether the page was asked to look at tagged entries too (?tagged=1)."""
    return request.args.get("tagged") == "1"


def _back():
    """The page the form was on (with or without tagged entries)."""
    return redirect(url_for("themes.discover", **({"tagged": "1"} if _with_tagged() else {})))


@bp.get("/themes/discover")
@manager_required
def discover():
    """Proposed themes found in the untagged entries (every entry with ?tagged=1), and how fresh
    they are."""
    return _page(proposals.current(get_store(), with_tagged=_with_tagged()))


def _gone():
    """The proposal was recomputed or dismissed meanwhile: back to the page, saying so."""
    flash("That proposal changed since the page was shown; here are the current ones.", "error")
    return _back()


@bp.post("/themes/discover/<proposal_id>/create")
@manager_required
def create_proposed(proposal_id: str):
    """Create the theme (name as edited) and tag every entry of the proposal with it."""
    store = get_store()
    form = ThemeForm(prefix=f"p{proposal_id}")
    proposal = proposals.find(store, proposal_id)
    if proposal is None:
        return _gone()
    if form.validate_on_submit():
        try:
            theme, tagged = service.create_and_tag(store, form.name.data, proposal["slugs"])
        except service.ThemeError as e:
            form.name.errors = [*form.name.errors, str(e)]
        else:
            proposals.dismiss(store, proposal, g.user["email"], theme=theme["slug"])
            proposals.start_refresh()  # the tagged entries leave the untagged ones
            flash(f"Theme '{theme['name']}' created; {tagged} entries tagged.", "ok")
            return redirect(url_for("themes.show", slug=theme["slug"]))
    return _page(proposals.current(store, with_tagged=_with_tagged()), (proposal_id, form), 400)


@bp.post("/themes/discover/<proposal_id>/dismiss")
@manager_required
def dismiss_proposed(proposal_id: str):
    """Hide a proposal until new entries join it."""
    store = get_store()
    form = ConfirmForm(prefix=f"d{proposal_id}")
    proposal = proposals.find(store, proposal_id)
    if proposal is None:
        return _gone()
    if not form.validate_on_submit():
        flash("The form had expired; please try again.", "error")
        return _back()
    proposals.dismiss(store, proposal, g.user["email"])
    flash(f"Dismissed '{proposal['name']}': it comes back only if new entries join it.", "ok")
    return _back()


@bp.cli.command("discover")
def discover_command() -> None:
    """Compute the proposed themes now (what the page starts in the background), and save them."""
    data_dir = Path(current_app.config["DATA_DIR"])
    if not proposals.refresh(data_dir, Path(current_app.config["ENTRIES_DIR"])):
        raise click.ClickException("another refresh of the proposed themes is running")
    saved = proposals.load(data_dir) or {}
    click.echo(
        f"{len(saved.get('proposals', []))} proposed themes from {saved.get('considered', 0)} of "
        f"{saved.get('untagged', 0)} untagged entries, in {saved.get('seconds', 0):.1f} s."
    )

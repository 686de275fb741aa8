"""Theme pages (everyone signed in reads, managers change) and tagging."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from debrief.auth.views import login_required, manager_required, safe_next
from debrief.kb import synonyms
from debrief.store import get_store
from debrief.themes import charts, service, suggest
from debrief.themes.forms import (
    ConfirmForm,
    MergeForm,
    SearchForm,
    SynonymForm,
    TagForm,
    TagSearchForm,
    ThemeForm,
)

bp = Blueprint("themes", __name__)
PER_PAGE = 20


def _fail(error: service.ThemeError) -> None:
    """Show a service's refusal as a message on the next page."""
    flash(str(error), "error")


def _form_errors(form) -> None:
    """Show a form's validation errors as one message (the form is on another page)."""
    problems = [f"{form[name].label.text}: {' '.join(errs)}" for name, errs in form.errors.items()
                if name in form]  # fmt: skip
    flash(" ".join(problems) or "The form was incomplete; please try again.", "error")


@bp.get("/themes")
@login_required
def index(synonym_form: SynonymForm | None = None):
    """Every theme with its entry count; managers also get the forms for themes and synonyms."""
    themes, strays = service.list_themes(get_store())
    return render_template(
        "themes/index.html", themes=themes, strays=strays, form=ThemeForm(),
        synonym_form=synonym_form or SynonymForm(formdata=None),
        synonym_lines=synonyms.added_lines(), synonym_problems=synonyms.problems(),
    )  # fmt: skip


@bp.post("/themes/synonyms")
@manager_required
def add_synonyms():
    """Add a line of synonyms to what search understands; a bad line is shown beside the field."""
    form = SynonymForm()
    if form.validate_on_submit():
        try:
            members = synonyms.add_line(form.line.data)
        except synonyms.SynonymError as error:
            form.line.errors = [str(error)]
        except OSError as error:
            form.line.errors = [f"The line could not be saved ({error.strerror}); try again."]
        else:
            flash(f"Search now finds each of {', '.join(members)} when any is typed.", "ok")
            return redirect(url_for("themes.index") + "#synonyms")
    return index(synonym_form=form), 400


@bp.post("/themes/new")
@manager_required
def create():
    """Create a theme."""
    form = ThemeForm()
    if form.validate_on_submit():
        try:
            theme = service.create_theme(get_store(), form.name.data, form.description.data)
        except service.ThemeError as e:
            _fail(e)
        else:
            flash(f"Theme '{theme['name']}' created.", "ok")
            return redirect(url_for("themes.show", slug=theme["slug"]))
    else:
        _form_errors(form)
    return redirect(url_for("themes.index"))


@bp.get("/themes/<slug>")
@login_required
def show(slug: str):
    """A theme: its description, its entries, its count per month."""
    store = get_store()
    theme = service.get_theme(store, slug)
    if theme is None:
        abort(404)
    page = request.args.get("page", 1, type=int)
    results = service.search(service.SearchParams(theme=slug), page, PER_PAGE)
    months, counts, older = service.theme_months(slug)
    chart = charts.columns(
        "theme-months", f"Entries tagged {theme['name']} per month", months, [("", counts)]
    )
    merge = MergeForm()
    merge.target.choices = [(s, n) for s, n in service.theme_names(store).items() if s != slug]
    edit = ThemeForm(data={"name": theme["name"], "description": theme["description"]})
    pages = max(1, -(-results.total // PER_PAGE))
    return render_template(
        "themes/show.html", theme=theme, results=results, page=page, pages=pages, chart=chart,
        months=months, counts=counts, older=older, edit=edit, merge=merge, confirm=ConfirmForm(),
        tag=TagForm(), label=service.kb.labeller(),
    )  # fmt: skip


@bp.post("/themes/<slug>/edit")
@manager_required
def edit(slug: str):
    """Rename and/or describe a theme (a new name rewrites every tagged entry)."""
    form = ThemeForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for("themes.show", slug=slug))
    try:
        theme = service.edit_theme(get_store(), slug, form.name.data, form.description.data)
    except service.ThemeError as e:
        _fail(e)
        return redirect(url_for("themes.index"))
    flash(f"Theme '{theme['name']}' saved.", "ok")
    return redirect(url_for("themes.show", slug=theme["slug"]))


@bp.post("/themes/<slug>/merge")
@manager_required
def merge(slug: str):
    """Merge this theme into another and delete it."""
    form = MergeForm()
    form.target.choices = list(service.theme_names(get_store()).items())
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for("themes.index"))
    try:
        moved = service.merge_themes(get_store(), slug, form.target.data)
    except service.ThemeError as e:
        _fail(e)
        return redirect(url_for("themes.index"))
    flash(f"Merged: {moved} entries moved.", "ok")
    return redirect(url_for("themes.show", slug=form.target.data))


@bp.post("/themes/<slug>/delete")
@manager_required
def delete(slug: str):
    """Untag every entry and delete the theme."""
    if ConfirmForm().validate_on_submit():
        try:
            changed = service.delete_theme(get_store(), slug)
        except service.ThemeError as e:
            _fail(e)
        else:
            flash(f"Theme deleted; {changed} entries untagged.", "ok")
    return redirect(url_for("themes.index"))


def _tag_or_untag(action) -> object:
    """Shared body of tag and untag: validate, call the service, go back."""
    form = TagForm()
    back = safe_next(form.next.data) if form.next.data else url_for("themes.index")
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(back)
    try:
        changed = action(get_store(), form.slug.data, form.theme.data)
    except service.ThemeError as e:
        _fail(e)
        return redirect(back)
    verb = "Tagged" if action is service.tag_entry else "Untagged"
    flash(f"{verb}." if changed else "Nothing to change.", "ok")
    return redirect(back)


@bp.post("/themes/tag")
@manager_required
def tag():
    """Tag one entry with a theme."""
    return _tag_or_untag(service.tag_entry)


@bp.post("/themes/untag")
@manager_required
def untag():
    """Remove a theme from one entry."""
    return _tag_or_untag(service.untag_entry)


def _params(form) -> service.SearchParams:
    """The search of a search form (filter theme under `theme` or `within_theme`)."""
    theme = form.within_theme.data if hasattr(form, "within_theme") else form.theme.data
    return service.SearchParams(
        q=form.q.data or "", kind=form.kind.data or None, theme=theme or None,
        reason=form.reason.data or None, competitor=form.competitor.data or None,
        rep=form.rep.data or None,
        date_from=form.date_from.data.isoformat() if form.date_from.data else None,
        date_to=form.date_to.data.isoformat() if form.date_to.data else None,
    )  # fmt: skip


@bp.get("/themes/tag-search")
@manager_required
def tag_search_preview():
    """Search like /kb, see how many entries match, then tag all of them (or one) at once."""
    store = get_store()
    search = SearchForm(formdata=request.args)
    search.validate()
    params = _params(search)
    page = request.args.get("page", 1, type=int)
    results = service.search(params, page, PER_PAGE)
    form = TagSearchForm(formdata=None, data={**vars(params), "within_theme": params.theme})
    form.date_from.data, form.date_to.data = search.date_from.data, search.date_to.data
    form.theme.choices = list(service.theme_names(store).items())
    args = {k: v for k, v in request.args.items() if k != "page"}
    pages = max(1, -(-results.total // PER_PAGE))
    return render_template(
        "themes/tag_search.html", search=search, form=form, results=results, page=page,
        pages=pages, args=args, tag=TagForm(), themes=form.theme.choices,
        label=service.kb.labeller(),
    )  # fmt: skip


@bp.post("/themes/tag-search")
@manager_required
def tag_search():
    """Tag every result of the search (all pages) with the chosen theme."""
    form = TagSearchForm()
    form.theme.choices = list(service.theme_names(get_store()).items())
    params = _params(form)
    back = url_for("themes.tag_search_preview", **_query_string(params))
    back = safe_next(form.next.data) if form.next.data else back
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(back)
    try:
        tagged, total = service.tag_search(get_store(), params, form.theme.data)
    except service.ThemeError as e:
        _fail(e)
        return redirect(back)
    had = f" ({total - tagged} had the theme already)" if total > tagged else ""
    flash(f"Tagged {tagged} of {total} result{'' if total == 1 else 's'}{had}.", "ok")
    return redirect(back)


def _query_string(params: service.SearchParams) -> dict[str, str]:
    """The search as /kb-style query parameters."""
    names = {"date_from": "from", "date_to": "to"}
    return MultiDict({names.get(k, k): v for k, v in vars(params).items() if v}).to_dict()


@bp.get("/themes/suggestions")
@manager_required
def suggestions():
    """Untagged entries with the themes of the tagged entries most like them."""
    store = get_store()
    names = service.theme_names(store)
    page = max(request.args.get("page", 1, type=int), 1)
    items, count = suggest.suggestions(page, known=set(names))
    pages = max(1, -(-count // suggest.PER_PAGE))
    return render_template(
        "themes/suggestions.html", items=items, count=count, page=page, pages=pages,
        names=names, tag=TagForm(),
    )  # fmt: skip

"""Knowledge-base pages (search, entries, lessons, problems, export) and `debrief kb` commands."""

from __future__ import annotations

import datetime
import logging
import math
import tempfile
from pathlib import Path
from urllib.parse import quote_plus

import click
from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask.blueprints import BlueprintSetupState

from debrief.auth.views import is_manager, login_required, manager_required
from debrief.entries import EntryError, render_body
from debrief.files import sweep_temporary
from debrief.index import QUERY_MAX
from debrief.kb import facets, lessons, service
from debrief.kb.forms import LessonForm, NewLessonForm, SearchForm
from debrief.store import get_store
from debrief.themes.service import theme_names

bp = Blueprint("kb", __name__, cli_group="kb")
log = logging.getLogger("debrief.kb")


@bp.record_once
def sweep_at_start(state: BlueprintSetupState) -> None:
    """Remove the temporary files that writes cut off by a kill left in the entries folder."""
    swept = sweep_temporary(Path(state.app.config["ENTRIES_DIR"]), deep=False)
    if swept:
        log.info("%d temporary files of cut-off writes removed from the entries folder", swept)


FILTERS = ("kind", "theme", "reason", "competitor", "rep")
PARAMS = ("q", *FILTERS, "from", "to", "typed")
_SAFE = "!$'()*,/:;?@"  # what url_for leaves unescaped in a query string
FILTER_MAX = 200  # no facet value is longer; longer input cannot match anything anyway


def _args() -> dict[str, str]:
    """The current search's parameters (page left out), blank ones dropped, each cut to what a
    search reads: every link of a results page repeats them, and the facet columns are kept."""
    return {
        k: v[: QUERY_MAX if k == "q" else FILTER_MAX]
        for k in PARAMS
        if (v := request.args.get(k, "").strip())
    }


def _pair(key: str, value: str) -> str:
    """key=value encoded as url_for encodes a query string (werkzeug's safe characters): what
    urlencode() gives for one pair, without its checks of the pair's types."""
    return f"{quote_plus(key, safe=_SAFE)}={quote_plus(value, safe=_SAFE)}"


def kb_url(changes: dict[str, str | None] | None = None) -> str:
    """A /kb link: the current search (on /kb; none elsewhere) with some parameters changed."""
    # A results page builds ~60 of these links (one per facet value): url_for, re-reading the
    # request's arguments and encoding them for each would cost more than the whole page may,
    # so all three happen once per request, and each link encodes only what it changes.
    built = g.get("kb_links")
    if built is None:
        current = _args() if request.endpoint == "kb.index" else {}
        built = g.kb_links = (url_for("kb.index"), {k: _pair(k, v) for k, v in current.items()})
    path, current = built
    pairs = dict(current)
    for key, value in (changes or {}).items():
        if value is None:
            pairs.pop(key, None)
        else:
            pairs[key] = _pair(key, str(value))
    return f"{path}?{'&'.join(pairs.values())}" if pairs else path


@bp.context_processor
def _helpers() -> dict:
    """kb_url() for the templates, and render_body (a lesson's preview)."""
    return {"kb_url": kb_url, "render_body": render_body}


@bp.get("/kb")
@login_required
def index():
    """Search and browse: results with snippets, facet counts, filters and pages."""
    form = SearchForm(request.args)
    form.validate()  # a bad date is reported beside the form and left out of the search
    args = _args()
    filters = {k: v for k, v in args.items() if k in FILTERS}
    dates = [f.data.isoformat() if f.data and not f.errors else None
             for f in (form.date_from, form.date_to)]  # fmt: skip
    typed = request.args.get("typed") == "1"  # "search instead for" the words as typed
    results = service.search(
        form.q.data or "", filters, *dates, request.args.get("page", 1), typed=typed
    )
    label = service.labeller()
    return render_template(
        "kb/index.html",
        form=form,
        results=results,
        filters=filters,
        args=args,
        dates=dict(zip(("from", "to"), dates, strict=True)),
        pages=max(1, math.ceil(results.total / results.per_page)),
        label=label,
        facets_html=facets.column(results.facets, filters, args, label, kb_url, results.estimated),
        themes=_theme_choices(),
    )


@bp.get("/kb/<slug>")
@login_required
def entry(slug: str):
    """One entry: its facts as filter links, its body, and the other entries of its deal."""
    found = service.read(slug)
    if isinstance(found, EntryError) and is_manager():
        return render_template("kb/broken.html", problem=found, slug=slug), 404
    if not found or isinstance(found, EntryError):
        abort(404)
    return render_template(
        "kb/entry.html",
        entry=found,
        related=service.related(found, g.user),
        can_edit=lessons.can_edit(found, g.user),
        label=service.labeller(),
        themes=_theme_choices(),
    )


def _theme_choices() -> list[tuple[str, str]] | None:
    """(slug, name) of every theme for a manager's tag controls; None for a rep (no controls)."""
    return list(theme_names(get_store()).items()) if is_manager() else None


@bp.route("/kb/lessons/new", methods=["GET", "POST"])
@login_required
def new_lesson():
    """Write a lesson, with a preview first if wanted; from a deal's page, tied to that deal."""
    about = lessons.linked_deal(g.user, request.args.get("deal"))  # None: not a deal of theirs
    form = NewLessonForm(deal=str(about["id"]) if about else "")
    form.set_deals(lessons.deal_choices(g.user, request.args.get("deal")))
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = lessons.preview(form.body.data)
        else:
            try:
                saved = lessons.create(g.user, form.title.data, form.body.data, form.deal.data)
            except lessons.LessonError as e:
                form.deal.errors = [str(e)]
            else:
                flash("Lesson saved. It is in the knowledge base now.", "ok")
                if about is not None and saved.deal == about["id"]:
                    return redirect(url_for("deals.show", deal_id=about["id"]))
                return redirect(url_for("kb.entry", slug=saved.slug))
    return render_template(
        "kb/lesson_form.html", form=form, preview=preview, entry=None, about=about
    )


@bp.route("/kb/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(slug: str):
    """Edit a lesson: its author or a manager."""
    found = service.load(slug)
    if found is None or found.kind != "lesson":
        abort(404)
    if not lessons.can_edit(found, g.user):
        abort(403)
    form = LessonForm(data={"title": found.title, "body": found.body})
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = lessons.preview(form.body.data)
        else:
            lessons.edit(found, g.user, form.title.data, form.body.data)
            flash("Lesson saved.", "ok")
            return redirect(url_for("kb.entry", slug=slug))
    return render_template(
        "kb/lesson_form.html", form=form, preview=preview, entry=found, about=None
    )


@bp.get("/kb/problems")
@manager_required
def problems():
    """Entry files the index skipped, and repairs made reading others, so someone can fix them."""
    problems, warnings = service.problems()
    return render_template("kb/problems.html", problems=problems, warnings=warnings)


@bp.get("/kb/export")
@manager_required
def export():
    """Download the entries folder and the answers (anonymity kept) as one zip."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it when the response ends
    service.export(out)
    out.seek(0)
    name = f"debrief-export-{datetime.date.today().isoformat()}.zip"
    return send_file(out, mimetype="application/zip", as_attachment=True, download_name=name)


@bp.cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from the entry files, reporting every broken file."""
    from debrief.entries import entry_files
    from debrief.index import get_kb
    from debrief.store import get_store
    from debrief.survey.repair import repair_owed_entries

    sweep_temporary(service.entries_dir())  # cut-off writes (a minute old: not one in progress)
    click.echo(repair_owed_entries(get_store()).summary())
    total = sum(1 for _ in entry_files(service.entries_dir()))
    with click.progressbar(length=total, label="Indexing entries") as bar:
        problems = get_kb().rebuild(progress=lambda done, _total: bar.update(done - bar.pos))
    click.echo(f"Indexed {get_kb().entry_count()} entries from {total} files.")
    _, warnings = get_kb().problems()
    if warnings:
        click.echo(f"{len(warnings)} repairs made reading hand-written files (fix them if wrong):")
        for path, message in warnings:
            click.echo(f"  {path}: {message}")
    if problems:
        click.echo(f"{len(problems)} broken files skipped (fix them and run reindex again):")
        for problem in problems:
            click.echo(f"  {problem.path}: {problem.reason}")


@bp.cli.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Where to write the zip (default: debrief-export-DATE.zip here).",
)
def export_command(out: str | None) -> None:
    """Write a zip of the entries folder and answers.csv (no contact emails, anonymity kept)."""
    target = Path(out or f"debrief-export-{datetime.date.today().isoformat()}.zip")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as f:
            files, answers = service.export(f)
        partial.replace(target)  # a half-written zip never takes the final name
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {target}: {e.strerror or e}") from e
    click.echo(f"Wrote {target}: {files} entry files, {answers} answers.")

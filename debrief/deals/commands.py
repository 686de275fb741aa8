"""The `debrief deals` and `debrief invites` commands."""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click
from flask import current_app
from flask.cli import AppGroup

from debrief.auth import users
from debrief.deals import imports, sending
from debrief.store import Store, get_store

deals_cli = AppGroup("deals", help="Lost deals.")
invites_cli = AppGroup("invites", help="Survey invitations by mail.")

# The steps other features add to `invites remind` (the survey's: the reps' notices and the
# entries owed by answers, cut off by a crash), run after the reminders: the deals feature runs
# them without knowing the features that need them.
_REMIND_STEPS = "debrief.deals.remind_steps"


@dataclass(frozen=True)
class Caught:
    """What a step of `invites remind` did: words for the summary line, lines after it."""

    summary: str = ""
    lines: tuple[str, ...] = ()
    failed: bool = False  # something is left to do: the command exits 1 so cron tells someone


def on_remind(app: Any, step: Callable[[Store, dict[str, Any]], Caught]) -> None:
    """Run `step(store, config)` in every `invites remind`, after the reminders."""
    app.extensions.setdefault(_REMIND_STEPS, []).append(step)


def _importer(email: str | None) -> dict:
    """The account imported deals go to when their owner matches nobody."""
    store = get_store()
    if email:
        user = users.find_user(store, email)
        if user is None or not user.get("active"):
            raise click.BadParameter(f"no active account {email}", param_hint="--as")
        return user
    for user in users.list_users(store):
        if user["role"] == "manager" and user.get("active"):
            return user
    raise click.ClickException("No manager account yet: add one, or name one with --as EMAIL.")


@deals_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    help="Who gets deals whose owner matches no account (default: the first manager).",
)
def import_command(file: Path, as_email: str | None) -> None:
    """Import the lost deals of a CRM export (CSV); list every line that was not imported."""
    importer = _importer(as_email)
    with (
        _seekable(file) as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as stream,
    ):
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b""))
        raw.seek(0)
        bar = click.progressbar(length=max(lines, 1), label="Importing", file=sys.stderr)
        summary = _import(stream, importer, bar, file.name)
    click.echo(
        f"Imported: {summary.imported} lost deal(s)"
        + (
            f", {summary.no_contact} without a contact email (no contact)"
            if summary.no_contact
            else ""
        )
    )
    click.echo(f"Already in Debrief (same CRM id): {len(summary.already)}")
    click.echo(f"Skipped (not lost): {len(summary.skipped)}")
    click.echo(f"Problems (not imported): {len(summary.problems)}")
    if summary.unmatched:
        click.echo(
            f"Owner matched no account: {summary.unmatched_count} deal(s), "
            f"given to {importer['email']}:"
        )
        for owner, count in summary.unmatched.items():
            click.echo(f"  {owner}: {count}")
    lines = [(p.line, "problem", p.reason) for p in summary.problems]
    lines += [(s.line, "skipped", s.reason) for s in summary.skipped]
    for line, kind, reason in sorted(lines):
        click.echo(f"line {line}: {kind}: {reason}")
    if summary.problems:
        raise SystemExit(1)  # so scripts notice that some lines need fixing


@contextmanager
def _seekable(file: Path) -> Iterator[BinaryIO]:
    """The file opened for reading; a pipe (/dev/stdin, <(zcat ...)) is first copied to disk.

    The import reads the file more than once (lines for the bar, rows against the limit, then
    the rows themselves), and a pipe can be read only once.
    """
    with open(file, "rb") as raw:
        if raw.seekable():
            yield raw
            return
        with tempfile.TemporaryFile() as copy:
            shutil.copyfileobj(raw, copy)
            copy.seek(0)
            yield copy


def _import(stream: TextIO, importer: dict, bar: Any, file_name: str) -> imports.ImportSummary:
    """Run the import with the progress bar; the row limit's refusal as a command error."""
    done = [1]  # the header line

    def advance(line: int) -> None:
        if line > done[0]:
            bar.update(line - done[0])
            done[0] = line

    with bar:
        try:
            return imports.import_csv(
                get_store(),
                stream,
                importer,
                on_row=advance,
                max_rows=current_app.config["IMPORT_MAX_ROWS"],
                file_name=file_name,
            )
        except imports.TooManyRows as exc:
            raise click.ClickException(str(exc)) from None


@invites_cli.command("send")
@click.option("--deal", "deal_id", type=int, help="Send (or retry) only this deal's invitation.")
def send_command(deal_id: int | None) -> None:
    """Send every invitation not sent yet (deals with a contact), or one deal's."""
    store = get_store()
    deals = sending.pending_deals(store, deal_id)
    if deal_id is not None and not deals:
        raise click.ClickException(f"There is no deal {deal_id}.")
    sent = refused = failed = 0
    for deal in deals:
        label = f"deal {deal['id']} ({deal['company']})"
        try:
            invitation = sending.send_invitation(store, current_app.config, deal)
        except sending.InviteError as exc:  # no contact, opted out, sent already: not an error
            refused += 1
            click.echo(f"{label}: not sent: {exc}")
            continue
        if invitation["status"] == "sent":
            sent += 1
            click.echo(f"{label}: sent to {invitation['email']}")
        else:
            failed += 1
            click.echo(f"{label}: failed: {invitation.get('error')}")
    click.echo(f"{sent} sent, {failed} failed (retry with --deal ID), {refused} not sendable.")
    if failed:
        raise SystemExit(1)  # a mail error: cron should tell someone


@invites_cli.command("remind")
def remind_command() -> None:
    """Send the reminders that are due, mark expired invitations, catch up the reps' notices."""
    store, config = get_store(), current_app.config
    run = sending.send_reminders(store, config)
    caught = [step(store, config) for step in current_app.extensions.get(_REMIND_STEPS, [])]
    summary = (
        f"{run.reminded} reminder(s) sent, {run.failed} failed, {run.expired} expired, "
        f"{run.opted_out} opted out"
    )
    click.echo("; ".join([summary, *(c.summary for c in caught if c.summary)]) + ".")
    for line in (line for c in caught for line in c.lines):
        click.echo(line)
    if run.failed or any(c.failed for c in caught):
        raise SystemExit(1)

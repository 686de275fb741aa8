"""The `debrief digest` command (for cron: safe to run as often as you like)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from debrief.digest import service
from debrief.store import get_store


@click.command("digest")
@with_appcontext
def digest_command() -> None:
    """Mail this week's digest to everyone still owed it (at most once per person per week)."""
    run = service.run(get_store(), current_app.config)
    for email, reason in run.failed:
        click.echo(f"{email}: failed: {reason}")
    click.echo(
        f"{run.sent} sent, {run.empty} with nothing new, {len(run.failed)} failed "
        f"(tried again next run), {run.done} done earlier this week, {run.off} turned off."
    )
    if run.failed:
        raise SystemExit(1)  # a mail error: cron should tell someone

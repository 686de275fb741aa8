"""The app's commands: set-up, demo data, users (features add their own groups).

The `debrief` console script that runs them is `debrief/__main__.py`: it builds the app, so
this module, which the app registers, does not import the app factory.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from debrief import text
from debrief.auth import users
from debrief.deals.commands import deals_cli, invites_cli
from debrief.digest.commands import digest_command
from debrief.store import get_store


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the data folder, the store, the entries folder and the search index."""
    from pathlib import Path

    from debrief.files import sweep_temporary
    from debrief.index import get_kb
    from debrief.survey import upgrade
    from debrief.survey.repair import repair_owed_entries

    for key in ("DATA_DIR", "ENTRIES_DIR"):
        Path(current_app.config[key]).mkdir(parents=True, exist_ok=True)
    get_store().table("users").count()
    upgraded = get_store().upgrade()
    # Nothing else runs during init: every temporary file left in the entries folder is a
    # write that a kill cut off.
    swept = sweep_temporary(Path(current_app.config["ENTRIES_DIR"]), older_than=0)
    repaired = repair_owed_entries(get_store())
    # So a fresh `make run` finds the starter lessons; later runs pick up files changed meanwhile.
    added, changed, removed, problems = get_kb().sync()
    rewritten = upgrade.anonymous_debriefs(get_store())
    click.echo(f"Data folder: {current_app.config['DATA_DIR']}")
    click.echo(f"Entries folder: {current_app.config['ENTRIES_DIR']}")
    if upgraded:
        click.echo(f"Store: {upgraded} files rewritten in the current format.")
    if swept:
        click.echo(f"Entries folder: {swept} temporary files of cut-off writes removed.")
    click.echo(repaired.summary())
    click.echo(f"Search index: {added} added, {changed} changed, {removed} removed.")
    if rewritten:
        click.echo(
            f"Entries: {rewritten} anonymous debrief{'s' if rewritten != 1 else ''} rewritten"
            " without their deal number and names (SPEC 2.3)."
        )
    if problems:
        click.echo(f"{len(problems)} broken entry files skipped: `debrief kb reindex` lists them.")


@click.command("demo")
@click.option("--force", is_flag=True, help="Add the demo data even if the store has users.")
@with_appcontext
def demo_command(force: bool) -> None:
    """Create demo accounts and lost deals when the store is empty; print the logins."""
    from debrief import demo

    store = get_store()
    if users.list_users(store) and not force:
        click.echo("The store has accounts already: no demo data added.")
    else:
        demo.create(store, current_app.config)
    click.echo("Demo logins (password for all: " + demo.PASSWORD + "):")
    for email, role in demo.ACCOUNTS:
        click.echo(f"  {role:8} {email}")


def clean_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A command-line text by the one rule of debrief.text, as a form field would take it."""
    if value is None:
        return None
    try:
        return text.clean_text(value) or None
    except text.TextError as exc:
        raise click.BadParameter(exc.reason) from None


user_group = click.Group("user", help="Manage accounts.")


@user_group.command("add")
@click.argument("email", callback=clean_option)
@click.option("--role", type=click.Choice(users.ROLES), required=True)
@click.option(
    "--name", default=None, callback=clean_option, help="Display name (default: from the email)."
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
@with_appcontext
def user_add(email: str, role: str, name: str | None, password: str) -> None:
    """Create an account with a hashed password."""
    try:
        user = users.add_user(get_store(), email, role, password, name)
    except users.UserError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"Added {user['role']} {user['email']} ({user['name']}).")


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI."""
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(user_group)
    app.cli.add_command(deals_cli)
    app.cli.add_command(invites_cli)
    app.cli.add_command(digest_command)

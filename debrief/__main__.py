"""The `debrief` console script (and `python -m debrief`): Flask's command group over create_app.

The entry point sits above the package: it imports create_app, which registers every command
(cli.py and each feature's group); nothing inside the package imports the app factory.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException, ScriptInfo

from debrief import create_app
from debrief.config import ConfigError


def _create_app() -> Flask:
    """The app, or Flask's "no app" error carrying the setting that stops it."""
    try:
        return create_app()
    except ConfigError as e:
        raise NoAppException(str(e)) from e


class DebriefGroup(FlaskGroup):
    """Flask's group, but a setting that stops the app is the error, not "No such command"."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command; when the app cannot start, its one-line reason (exit code 1)."""
        if click.Group.get_command(self, ctx, name) is None:  # not a Flask built-in: needs the app
            try:
                ctx.ensure_object(ScriptInfo).load_app()
            except NoAppException as e:
                raise click.ClickException(e.format_message()) from None
        return super().get_command(ctx, name)


cli = DebriefGroup(create_app=_create_app, help="Debrief: lost-deal debriefs and their lessons.")


def main() -> None:
    """Entry point of the `debrief` console script."""
    cli.main(prog_name="debrief")


if __name__ == "__main__":
    main()

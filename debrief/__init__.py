"""Debrief: ask lost prospects why, and keep the lessons where the team finds them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# Flask is imported by create_app, not here: the knowledge-base engine (debrief.files,
# debrief.entries, debrief.index) is a plain library, usable without the web app.


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, store, security, blueprints, error pages, commands."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from debrief import config, template_cache

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(config.PROJECT_ROOT / "templates"),
        static_folder=str(config.PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config is not None:
        app.config.update(test_config)
    config.finish(app.config)
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Only the client's address (for rate limits) from the hops our proxies added. Not the
        # host: links in mail come from DEBRIEF_BASE_URL. Not the scheme: under https Flask-WTF
        # demands a same-host Referer, which the survey's no-referrer pages never send.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0)
    # Set before anything touches app.jinja_env: the next process loads compiled templates.
    app.jinja_options = {
        **app.jinja_options,
        "bytecode_cache": template_cache.for_data_dir(app.config["DATA_DIR"]),
    }
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """The store, the knowledge base, languages, CSRF, headers, error pages, template helpers."""
    from debrief import errors, forms, i18n, index, security, store, templating

    store.init_app(app)
    index.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    forms.init_app(app)
    errors.init_app(app)
    templating.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from debrief.api.views import bp as api_bp
    from debrief.auth.views import bp as auth_bp
    from debrief.deals.views import bp as deals_bp
    from debrief.kb.views import bp as kb_bp
    from debrief.people.views import bp as people_bp
    from debrief.survey.views import bp as survey_bp
    from debrief.themes import blueprint as themes_blueprint

    app.register_blueprint(auth_bp)
    app.register_blueprint(deals_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(kb_bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(themes_blueprint())
    app.register_blueprint(people_bp)

    @app.get("/")
    def index():
        """Home: a rep's home page, a manager's deals, the sign-in page before."""
        from flask import g, redirect, render_template, url_for

        if g.user is None:
            return redirect(url_for("auth.login"))
        if g.user["role"] == "rep" and "deals.index" in app.view_functions:
            from debrief.deals.views import rep_home

            return rep_home()
        if "deals.index" in app.view_functions:
            return redirect(url_for("deals.index"))
        return render_template("index.html")

    @app.get("/healthz")
    def healthz():
        """For load balancers and uptime checks: the app answers and the store is readable."""
        from debrief.store import get_store

        get_store().table("users").count()
        return {"status": "ok"}


def register_commands(app: Flask) -> None:
    """The `debrief` command group (also `flask --app debrief ...`)."""
    from debrief import cli

    cli.init_app(app)

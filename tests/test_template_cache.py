"""Compiled templates saved in the data folder (template_cache.py): reused, checked, never fatal."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import app_settings

from debrief import create_app, template_cache


def _cache_dir(app) -> Path:
    return Path(app.config["DATA_DIR"]) / template_cache.CACHE_DIR


def _bucket(app, name: str, source: str | None = None):
    """The bucket the app's cache hands Jinja for one template (as Jinja asks for it)."""
    env = app.jinja_env
    real, filename, _ = env.loader.get_source(env, name)
    return env.bytecode_cache.get_bucket(env, name, filename, real if source is None else source)


def test_a_rendered_page_is_saved_and_a_new_app_loads_it(tmp_path, seeded_db):
    shutil.copytree(seeded_db, tmp_path / "data" / "db")
    first = create_app(app_settings(tmp_path))
    page = first.test_client().get("/login")
    assert page.status_code == 200
    assert list(_cache_dir(first).glob("*.jinja"))  # login.html and base.html at least

    second = create_app(app_settings(tmp_path))
    assert _bucket(second, "auth/login.html").code is not None
    again = second.test_client().get("/login")
    assert again.status_code == 200
    assert b'name="email"' in again.data


def test_an_edited_template_is_compiled_afresh(tmp_path, seeded_db):
    shutil.copytree(seeded_db, tmp_path / "data" / "db")
    app = create_app(app_settings(tmp_path))
    assert app.test_client().get("/login").status_code == 200
    edited = _bucket(app, "auth/login.html", source="{{ 'edited' }}")
    assert edited.code is None  # the saved code is for another source: not used


def test_a_torn_cache_file_is_ignored_and_replaced(tmp_path, seeded_db):
    shutil.copytree(seeded_db, tmp_path / "data" / "db")
    app = create_app(app_settings(tmp_path))
    assert app.test_client().get("/login").status_code == 200
    for path in _cache_dir(app).glob("*.jinja"):
        path.write_bytes(path.read_bytes()[:20])
    fresh = create_app(app_settings(tmp_path))
    page = fresh.test_client().get("/login")
    assert page.status_code == 200
    assert b'name="email"' in page.data
    assert _bucket(create_app(app_settings(tmp_path)), "auth/login.html").code is not None


def test_an_unwritable_cache_folder_costs_only_a_compile(tmp_path, seeded_db):
    shutil.copytree(seeded_db, tmp_path / "data" / "db")
    blocker = tmp_path / "data" / template_cache.CACHE_DIR
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the folder should be")
    app = create_app(app_settings(tmp_path))
    page = app.test_client().get("/login")
    assert page.status_code == 200
    assert b'name="email"' in page.data
    assert blocker.read_text() == "a file where the folder should be"

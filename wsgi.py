"""For production servers: `waitress-serve --call debrief:create_app` or `gunicorn wsgi:app`."""

from debrief import create_app

app = create_app()

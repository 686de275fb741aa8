"""The JSON API's routes: bearer key, JSON only, errors as {"errors": {field: message}}."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from debrief.api import service
from debrief.security import csrf
from debrief.store import get_store

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # no cookies here: a bearer key authenticates every request


def _errors(status: int, errors: dict[str, str]):
    """A JSON error response."""
    response = jsonify({"errors": errors})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="debrief"'
    return response


@bp.post("/deals")
def create_deal():
    """Create a lost deal from a CRM workflow (or return the one with the same crm_id)."""
    if not service.key_is_valid(
        request.headers.get("Authorization"), current_app.config["API_KEYS"]
    ):
        return _errors(
            401, {"authorization": "send 'Authorization: Bearer <key>' with a valid key"}
        )
    if request.mimetype != "application/json":
        return _errors(415, {"content_type": "send the body as application/json"})
    try:
        payload = json.loads(request.get_data(cache=False) or b"")
    # ValueError covers JSON syntax, bad UTF-8 and integers past Python's 4300-digit limit.
    except (ValueError, RecursionError) as exc:
        return _errors(400, {"body": f"malformed JSON: {exc}"})
    try:
        status, body = service.create_deal(get_store(), current_app.config, payload)
    except service.ApiError as exc:
        return _errors(exc.status, exc.errors)
    return jsonify(body), status

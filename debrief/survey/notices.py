"""The rep's "an answer arrived" mail: sent after the response, recorded, caught up by cron.

The mail is work (MIME headers, two templates, an outbox file with fsync), so a request only
queues it; one thread per process sends it and stamps `rep_notified` on the answer. A
process killed in between leaves the stamp unset, and `debrief invites remind` sends every
notice still missing after CATCH_UP_AFTER: delayed, never lost silently (the stamps of a batch
are written together, so a process killed mid-batch may send those notices twice, never none).

The thread waits for a quiet moment (no request of this process in progress for QUIET), or at
most MAX_DELAY: sent at once, its CPU time (GIL held) and its answers-shard write landed in
the next requests, answer POSTs included (back-to-back submits were slower each).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, request

from debrief import mail
from debrief.auth import users
from debrief.deals import invitations
from debrief.store import Store

log = logging.getLogger("debrief.survey")

# Long enough that the request's own thread has sent it; cron runs catch up the rest.
CATCH_UP_AFTER = timedelta(minutes=1)
# A notice waits for this long a pause in the requests, then is sent anyway (well within
# CATCH_UP_AFTER, so cron never sends one the thread is about to send).
QUIET = 0.05
MAX_DELAY = 10.0

_jobs: queue.Queue = queue.Queue()
_start_lock = threading.Lock()
_worker: threading.Thread | None = None
# Requests of this process in progress, and when the last one ended (time.monotonic()).
_traffic = threading.Condition()
_active = 0
_last_end = 0.0


def notify_rep(config: dict[str, Any], rep: dict[str, Any], deal: dict[str, Any]) -> bool:
    """Mail the rep that an answer arrived, with a link to the deal and none of the answer."""
    link = f"{config['BASE_URL']}/deals/{deal['id']}"
    context = {"rep": rep, "deal_id": deal["id"], "link": link}
    try:
        msg = mail.build_message(
            sender=config["MAIL_FROM"],
            to=rep["email"],
            subject=f"Deal #{deal['id']}: the buyer answered",
            text=render_template("survey/mail/answered.txt", **context),
            html=render_template("survey/mail/answered.html", **context),
            domain=urlsplit(config["BASE_URL"]).hostname or "localhost",
        )
        mail.transport(config).send(msg)
    except (mail.MailError, ValueError, OSError) as exc:
        # The answer is stored and shows on the deal page; cron tries the notice again.
        log.warning("answer for deal %s stored; mail to the rep failed: %s", deal["id"], exc)
        return False
    return True


def notify_and_record(
    store: Store, config: dict[str, Any], rep: dict[str, Any], deal: dict[str, Any], answer_id: int
) -> bool:
    """Send the rep's notice, then stamp `rep_notified` on the answer; False if the mail failed."""
    if not notify_rep(config, rep, deal):
        return False
    store.table("answers").update(answer_id, {"rep_notified": invitations.stamp()})
    return True


def notify_later(
    store: Store, config: dict[str, Any], rep: dict[str, Any], deal: dict[str, Any], answer_id: int
) -> None:
    """Queue the notice for after the response (sent at once outside a request, e.g. the CLI)."""
    if not has_request_context():
        notify_and_record(store, config, rep, deal, answer_id)
        return
    app = current_app._get_current_object()  # the thread needs the app, not the proxy
    _jobs.put((time.monotonic(), app, store, config, rep, deal, answer_id))
    _ensure_worker()


def request_began() -> None:
    """Count a request in progress (before_app_request hook): notices wait for a pause."""
    global _active
    with _traffic:
        _active += 1
    # On the request, not on g: a request inside another app context (tests) shares its g.
    request.environ["debrief.notices.counted"] = True


def request_ended(_exc: BaseException | None = None) -> None:
    """The end of a counted request (teardown hook, run even after an error)."""
    global _active, _last_end
    if not request.environ.pop("debrief.notices.counted", False):
        return  # an earlier hook answered the request before request_began ran
    with _traffic:
        _active -= 1
        _last_end = time.monotonic()
        _traffic.notify_all()


def _wait_for_a_pause(queued: float) -> None:
    """Return once no request has run for QUIET seconds, or MAX_DELAY after `queued`."""
    deadline = queued + MAX_DELAY
    with _traffic:
        while True:
            now = time.monotonic()
            if now >= deadline or (_active == 0 and now - _last_end >= QUIET):
                return
            pause_ends = _last_end + QUIET if _active == 0 else deadline
            _traffic.wait(min(deadline, pause_ends) - now)


def wait(timeout: float = 10.0) -> bool:
    """Block until every queued notice is handled (tests, shutdown); False on timeout."""
    with _jobs.all_tasks_done:
        return _jobs.all_tasks_done.wait_for(lambda: _jobs.unfinished_tasks == 0, timeout)


def _ensure_worker() -> None:
    """Start the sending thread once per process (again after a fork, where it is not alive)."""
    global _worker
    with _start_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_drain, name="debrief-notices", daemon=True)
            _worker.start()


def _drain() -> None:
    """The sending thread: the notices queued by the next pause, their stamps in one write.

    Under load the queue fills while the thread waits for a pause; one `rep_notified` write per
    answers shard for the whole batch saves a 380 KB shard rewrite (and fsync) per notice.
    An error is logged and never kills the thread: a stamp left unset is cron's to catch up.
    """
    while True:
        batch = [_jobs.get()]
        try:
            _wait_for_a_pause(batch[0][0])
            while True:
                try:
                    batch.append(_jobs.get_nowait())
                except queue.Empty:
                    break
            sent: dict[int, tuple[Store, list[int]]] = {}
            for _, app, store, config, rep, deal, answer_id in batch:
                try:
                    with app.app_context():
                        if notify_rep(config, rep, deal):
                            sent.setdefault(id(store), (store, []))[1].append(answer_id)
                except Exception:  # noqa: BLE001 - the stamp stays unset, so cron sends it later
                    log.exception(
                        "notice for answer %s not sent; `invites remind` retries", answer_id
                    )
            for store, answer_ids in sent.values():
                store.table("answers").update_many(
                    answer_ids, {"rep_notified": invitations.stamp()}
                )
        except Exception:  # noqa: BLE001 - as above, for the whole batch
            log.exception(
                "notices for %d answers not recorded; `invites remind` retries", len(batch)
            )
        finally:
            for _ in batch:
                _jobs.task_done()


# A clean exit sends what is queued (a kill does not: cron catches up those).
atexit.register(wait, 5.0)


def catch_up(
    store: Store, config: dict[str, Any], moment: datetime | None = None
) -> tuple[int, int]:
    """Send every rep notice still missing after CATCH_UP_AFTER; (sent, failed)."""
    before = (moment or invitations.now()) - CATCH_UP_AFTER
    # Only answers stored with `rep_notified: None` are waiting: older answers lack the field
    # because their notice was sent during the request.
    waiting = store.table("answers").search(
        lambda r: (
            "rep_notified" in r
            and r["rep_notified"] is None
            and datetime.fromisoformat(r["submitted"]) <= before
        )
    )
    sent = failed = 0
    for answer in waiting:
        deal = store.table("deals").get(answer["deal_id"])
        rep = users.get_user(store, deal["rep_id"]) if deal and deal.get("rep_id") else None
        if rep is None:  # the deal or its rep is gone: nobody to tell
            store.table("answers").update(answer["id"], {"rep_notified": False})
            continue
        if notify_and_record(store, config, rep, deal, answer["id"]):
            sent += 1
        else:
            failed += 1
    return sent, failed

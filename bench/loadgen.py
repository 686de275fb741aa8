"""A bounded load generator: `python -m bench.loadgen PLAN.json` prints a JSON report.

Threads with one keep-alive http.client connection each work through a fixed list of
operations (browse /kb, open /kb/<slug>, search, submit an answer) against 127.0.0.1 only,
until the list is done or the time limit is reached. It reports requests/s, statuses,
latencies and its own CPU time (resource.getrusage), so its cost can be set beside the
server's. Standalone on purpose: no Flask or app import, to keep its own cost low.
"""

from __future__ import annotations

import http.client
import json
import random
import resource
import sys
import threading
import time
from urllib.parse import urlencode

from bench.figures import median_p95
from bench.formdata import answer_form, claim_count, csrf_from

HOST = "127.0.0.1"


class Worker:
    """One connection (reopened when the server closes it) and its own cookies."""

    def __init__(self, port: int, cookie: str, cookie_name: str) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.session = f"{cookie_name}={cookie}"
        self.cookie_name = cookie_name
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._set_cookie = ""

    def request(
        self, method: str, path: str, body: str | None = None, cookie: str | None = None
    ) -> str:
        """One request; returns the body (empty on a connection failure, which is counted).

        Sent with the rep's session cookie unless `cookie` is given ("" for none at all).
        """
        as_rep = cookie is None
        cookie = self.session if as_rep else cookie
        headers = {"Cookie": cookie} if cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(f"{method} {path}: {exc!r}")
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            return ""
        self.latencies.append(time.perf_counter() - start)
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        self._set_cookie = response.getheader("Set-Cookie") or ""
        if as_rep and self._set_cookie.startswith(self.cookie_name + "="):
            # As a browser does: the rep's renewed session cookie is sent from now on.
            self.session = self._set_cookie.split(";", 1)[0]
        return data.decode("utf-8", "replace")

    def submit(self, token: str, rng: random.Random) -> None:
        """A buyer: the form page (with no session of their own), then the answer."""
        page = self.request("GET", f"/s/{token}", cookie="")
        cookie = self._set_cookie.split(";", 1)[0]
        if not page or not cookie:
            return
        try:
            data = answer_form(rng, csrf_from(page), claim_count(page))
        except RuntimeError:
            self.failures.append(f"GET /s/...: no form ({page[:80]!r})")
            return
        self.request("POST", f"/s/{token}", urlencode(data, doseq=True), cookie=cookie)


def run(plan: dict) -> dict:
    """Run the plan's operations on its threads; the report as a dict."""
    operations = list(plan["operations"])
    lock = threading.Lock()
    deadline = time.monotonic() + plan["time_limit"]
    workers = [
        Worker(plan["port"], plan["cookie"], plan["cookie_name"]) for _ in range(plan["threads"])
    ]

    def work(worker: Worker, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            with lock:
                if not operations:
                    return
                kind, arg = operations.pop()
            if kind == "submit":
                worker.submit(arg, rng)
            else:
                worker.request("GET", arg)

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(w, i)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    statuses: dict[str, int] = {}
    for worker in workers:
        for status, n in worker.statuses.items():
            statuses[str(status)] = statuses.get(str(status), 0) + n
    latencies = [s * 1000 for w in workers for s in w.latencies]
    median, p95 = median_p95(latencies)
    requests = len(latencies)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "requests": requests,
        "seconds": elapsed,
        "per_second": requests / elapsed if elapsed else 0.0,
        "statuses": statuses,
        "server_errors": sum(n for s, n in statuses.items() if s.startswith("5")),
        "failures": [f for w in workers for f in w.failures][:20],
        "failure_count": sum(len(w.failures) for w in workers),
        "latency_ms": {"median": median, "p95": p95},
        "left_undone": len(operations),
        "cpu_seconds": cpu,
        "cpu_share": cpu / elapsed if elapsed else 0.0,
    }


def main() -> None:
    """Read the plan file named on the command line, print the report as JSON."""
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    print(json.dumps(run(plan)))


if __name__ == "__main__":
    main()

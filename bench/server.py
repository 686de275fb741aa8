"""The production server: start-up + first request, throughput under mixed load, memory.

The server README recommends for production serves the app on 127.0.0.1 with a free port: on
Linux gunicorn with 2 workers of 4 threads (one process per core: one Python process is bound
to one core by the GIL) and MALLOC_ARENA_MAX=2; elsewhere waitress with 8 threads.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import prepare
from bench.client import make_app, session_cookie, signed_in
from bench.dataset import Dataset, rep_email
from bench.figures import Figure, median_p95
from bench.run import Run, label
from bench.text import QUERIES
from debrief.index import KnowledgeBase

START_S, RSS_MB, RATE = 2.0, 300.0, 200.0
FIRST_PATH = "/kb?q=price+budget"
ROOT = Path(__file__).resolve().parent.parent  # where wsgi.py and `bench` are
GUNICORN = Path(sys.executable).with_name("gunicorn")
USE_GUNICORN = sys.platform.startswith("linux") and GUNICORN.exists()
SERVER = "gunicorn -w 2 --threads 4" if USE_GUNICORN else "waitress --threads=8"
# glibc gives each thread its own malloc arena: 8 threads kept ~58 MB more resident (README).
SERVER_ENV = {"MALLOC_ARENA_MAX": "2"}


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(space: Dataset, port: int) -> subprocess.Popen:
    """The production server over the data set (its output goes to a log in the workspace)."""
    if USE_GUNICORN:
        args = [str(GUNICORN), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    else:
        args = [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}",
                "--threads=8", "--call", "debrief:create_app"]  # fmt: skip
    with open(space.root / "server.log", "ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            args,
            env={**space.env(), **SERVER_ENV},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(server: subprocess.Popen) -> None:
    """End the server process we started."""
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def first_response(port: int, cookie: str, server: subprocess.Popen, limit: float = 30) -> int:
    """Poll until the server answers FIRST_PATH; its HTTP status."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up (see server.log)")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", FIRST_PATH, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            return response.status
        except ConnectionRefusedError:
            time.sleep(0.005)
        finally:
            conn.close()
    raise RuntimeError("the server did not answer in time")


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def server_pids(pid: int) -> list[int] | None:
    """The server process and its children (gunicorn's workers); None where /proc cannot say."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if not children.exists():
        return None
    return [pid, *(int(c) for c in children.read_text().split())]


def server_rss(pid: int) -> tuple[float, float]:
    """(largest process, all processes) of the server: gunicorn's master and its workers, in MB."""
    pids = server_pids(pid) or [pid]
    sizes = [rss_mb(p) for p in pids if os.path.exists(f"/proc/{p}/status")]
    return max(sizes), sum(sizes)


def _cookie(space: Dataset) -> tuple[str, str]:
    """A rep's signed session cookie (name=value) and the cookie's name."""
    app = make_app(space)
    client = signed_in(app, rep_email(0))
    name = app.config["SESSION_COOKIE_NAME"]
    return f"{name}={session_cookie(client, app)}", name


def startup(run: Run) -> list[Figure]:
    """A fresh server until its first signed-in search page is complete."""
    space = run.workspace(run.big)
    cookie, _ = _cookie(space)
    samples, rss = [], []
    for _ in range(run.n(5)):
        port = free_port()
        began = time.perf_counter()
        server = start(space, port)
        try:
            status = first_response(port, cookie, server)
            samples.append(time.perf_counter() - began)
            rss.append(server_rss(server.pid)[0])
        finally:
            stop(server)
        if status != 200:
            raise RuntimeError(f"first request gave HTTP {status}")
    median, p95 = median_p95(samples)
    figure = Figure(
        what=f"start {SERVER.split()[0]} + first request, {label(run.big)} entries",
        target=f"<= {START_S:g} s",
        unit="s",
        median=median,
        p95=p95,
        met=max(samples) <= START_S,
        samples=len(samples),
    )
    figure.notes.append(
        f"{SERVER}; GET {FIRST_PATH} signed in; RSS of the process that answered it"
        f" {median_p95(rss)[0]:.0f} MB"
    )
    return [figure]


def plan(space: Dataset, port: int, count: int) -> dict:
    """The load generator's operations: 25% list, 30% entry pages, 35% search, 10% submit."""
    rng = random.Random(count)
    kb = KnowledgeBase(space.data_dir / "index.sqlite", space.entries_dir)
    slugs = [h.slug for p in range(1, 11) for h in kb.search(page=p, per_page=50).hits]
    kb.close()
    submits = int(count * 0.10)
    tokens = iter(prepare.open_links(make_app(space), submits, seed=count))
    kinds = rng.choices(["list", "entry", "search", "submit"], [25, 30, 35, 10], k=count)
    operations = []
    for kind in kinds:
        if kind == "list":
            operations.append(("get", f"/kb?page={rng.randint(1, 5)}"))
        elif kind == "entry":
            operations.append(("get", f"/kb/{rng.choice(slugs)}"))
        elif kind == "search":
            operations.append(("get", "/kb?" + f"q={rng.choice(QUERIES)}".replace(" ", "+")))
        else:
            token = next(tokens, None)
            operations.append(("submit", token) if token else ("get", "/kb"))
    cookie, name = _cookie(space)
    return {
        "port": port,
        "threads": 8,
        "time_limit": 120,
        "cookie": cookie.split("=", 1)[1],
        "cookie_name": name,
        "operations": operations,
    }


def _load(space: Dataset, name: str, load: dict) -> dict:
    """Run the load generator over one plan (in its own process); its report."""
    plan_path = space.root / f"loadgen-{name}.json"
    plan_path.write_text(json.dumps(load))
    result = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,  # where `bench` is importable
    )
    return json.loads(result.stdout)


PASSES = 3  # measured passes: the shared machine's speed swings by 2x from minute to minute


def server_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by the server and its workers (Linux only)."""
    pids = server_pids(pid)
    if pids is None:
        return None
    total = 0
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def throughput(run: Run) -> list[Figure]:
    """The server under the mixed load, after a first pass that warms it; then its memory.

    A server runs for days: what a team meets is the steady state, with each worker's caches
    (rankings of common searches, rendered bodies, parsed records) filled by earlier requests.
    The first pass after start-up (other links, other random picks) is reported beside it. The
    load then runs PASSES times (other picks and links each time); the figure is the median pass,
    with every pass's rate and the server's CPU time per request, steadier than the rate.
    """
    space = run.workspace(run.big)
    port = free_port()
    warm = plan(space, port, run.n(1000) + 1)  # another count: other picks, other links
    loads = [plan(space, port, run.n(4000) + k) for k in range(PASSES)]
    server = start(space, port)
    reports = []
    try:
        cookie = f"{loads[0]['cookie_name']}={loads[0]['cookie']}"
        first_response(port, cookie, server)  # started and synced, as after any restart
        cold = _load(space, "warm", warm)
        for k, load in enumerate(loads):
            before = server_cpu(server.pid)
            report = _load(space, f"measured-{k}", load)
            after = server_cpu(server.pid)
            report["server_cpu_ms"] = (
                (after - before) * 1000 / report["requests"]
                if before is not None and after is not None and report["requests"]
                else None
            )
            reports.append(report)
        memory, total = server_rss(server.pid)
    finally:
        stop(server)
    reports.sort(key=lambda r: r["per_second"])
    report = reports[len(reports) // 2]
    rate = report["per_second"]
    clean = not any(
        r["server_errors"] or r["failure_count"] or r["left_undone"] for r in [cold, *reports]
    )
    ok = rate >= RATE and clean
    figure = Figure(
        what=f"{SERVER}, mixed browse/search/submit, {label(run.big)} entries",
        target=f">= {RATE:g} requests/s, zero 5xx",
        unit="req/s",
        median=rate,
        met=ok,
        samples=sum(r["requests"] for r in reports),
    )
    cpu = [r["server_cpu_ms"] for r in reports if r["server_cpu_ms"] is not None]
    rates = ", ".join(f"{r['per_second']:.0f}" for r in reports)
    figure.notes += [
        f"after a first pass of {cold['requests']} requests from start-up:"
        f" {cold['per_second']:.1f} req/s, {cold['server_errors']} 5xx",
        f"{len(reports)} measured passes of {report['requests']} requests:"
        f" {rates} req/s;"
        f" 5xx {sum(r['server_errors'] for r in reports)},"
        f" connection failures {sum(r['failure_count'] for r in reports)},"
        f" operations left undone {sum(r['left_undone'] for r in reports)}",
        f"median pass: statuses {report['statuses']}, latency median"
        f" {report['latency_ms']['median']:.1f} ms, p95 {report['latency_ms']['p95']:.1f} ms",
        f"load generator CPU {report['cpu_seconds']:.1f} s ({report['cpu_share']:.0%} of one core)",
    ]
    if cpu:
        figure.notes.append(
            f"server CPU per request (all gunicorn processes): {median_p95(cpu)[0]:.1f} ms"
            f" (passes {', '.join(f'{c:.1f}' for c in sorted(cpu))}); 2 cores allow"
            f" {2000 / median_p95(cpu)[0]:.0f} req/s at that cost"
        )
    for r in reports:
        figure.notes += r["failures"][:3]
    memory_figure = Figure(
        what=f"resident memory per server process after the load, {label(run.big)} entries",
        target=f"<= {RSS_MB:g} MB",
        unit="MB",
        median=memory,
        met=memory <= RSS_MB,
    )
    memory_figure.notes.append(
        f"the largest process of {SERVER} ({SERVER_ENV}); all its processes together {total:.0f} MB"
    )
    return [figure, memory_figure]

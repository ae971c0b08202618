"""Prometheus metrics of a traffic run under the seed's names, served on 127.0.0.1 while the
run goes (`/metrics`, `/health`) and written as a text file at the end.

All are gauges holding the run's current values (counts are cumulative over the run), so
the exposed names are exactly the seed's (a prometheus Counter would add `_total`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from .config import FIBER_TYPES

PREFIX = "traffic_simulator_"
NAMES = (
    "population_size",
    "generation",
    "fitness_avg",
    "fitness_max",
    "fitness_min",
    "fibers_initiated",
    "fibers_completed",
    "fibers_failed",
    "attestations_created",
    "reputation_queries",
    "bridge_failures",
    "bridge_backoff_ms",
)
LABELLED = ("fibers_initiated", "fibers_completed", "fibers_failed")


class TrafficMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.g: dict[str, Gauge] = {}
        for name in NAMES:
            labels = ["type"] if name in LABELLED else []
            self.g[name] = Gauge(PREFIX + name, name.replace("_", " "), labels, registry=self.registry)
        for name in LABELLED:
            for t in FIBER_TYPES:
                self.g[name].labels(type=t).set(0)
        self.totals: dict[str, float] = {}
        self.per_type = {t: {"initiated": 0, "completed": 0} for t in FIBER_TYPES}
        self.health: dict[str, Any] = {"status": "starting", "generation": 0}
        self.server: ThreadingHTTPServer | None = None

    def update(self, population: int, generation: int, row: dict[str, Any]) -> None:
        """Fold one generation's CSV row into the gauges (no row: the state at start)."""
        self.g["population_size"].set(population)
        self.g["generation"].set(generation)
        if row:
            for k in ("fitness_avg", "fitness_max", "fitness_min"):
                self.g[k].set(row[k])
            for key, col in (
                ("attestations_created", "attestations"),
                ("reputation_queries", "reputation_queries"),
                ("bridge_failures", "bridge_failures"),
                ("bridge_backoff_ms", "backoff_ms"),
            ):
                self.totals[key] = self.totals.get(key, 0) + row[col]
                self.g[key].set(self.totals[key])
            for t, c in row["_per_type"].items():
                self.per_type[t]["initiated"] += c["initiated"]
                self.per_type[t]["completed"] += c["completed"]
                pt = self.per_type[t]
                self.g["fibers_initiated"].labels(type=t).set(pt["initiated"])
                self.g["fibers_completed"].labels(type=t).set(pt["completed"])
                self.g["fibers_failed"].labels(type=t).set(pt["initiated"] - pt["completed"])
        self.health = {"status": "running", "generation": generation, "population": population}

    def text(self) -> str:
        return generate_latest(self.registry).decode()

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.text())

    def serve(self, port: int) -> int:
        """Serve on 127.0.0.1:`port` (0 picks a free port) in a daemon thread; return the port."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.startswith("/metrics"):
                    body, ctype = metrics.text().encode(), CONTENT_TYPE_LATEST
                elif self.path.startswith("/health"):
                    body, ctype = json.dumps(metrics.health).encode(), "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return int(self.server.server_address[1])

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

"""Following a growing telemetry file or a loopback endpoint: new rows appear, rotation restarts, only loopback."""

from __future__ import annotations

import http.server
import threading

import pytest

from dctwin.config import load_scenario
from dctwin.config.load import scenario_from_dict
from dctwin.errors import InputError
from dctwin.telemetry.live import LiveFollower
from dctwin.telemetry.mapping import TelemetryMap

MAP = TelemetryMap.model_validate({"step_s": 60, "series": {
    "it_power_kw": {"source": "it", "unit": "kW"}, "grid_power_kw": {"source": "grid", "unit": "kW"}}})


def _rows(first_minute: int, n: int) -> str:
    minutes = range(first_minute, first_minute + n)
    return "".join(f"2027-01-05T00:{m:02d}:00Z,{15000 + m},{16500 + m}\n" for m in minutes)


def test_a_growing_csv_adds_rows_and_a_rotated_file_starts_over(tmp_path):
    path = tmp_path / "live.csv"
    path.write_text("time,it,grid\n" + _rows(0, 5))
    live = LiveFollower(load_scenario(), MAP, str(path))
    first = live.poll()
    assert len(first) == 5 and first["predicted_grid_power_kw"].notna().all()
    with path.open("a") as fh:
        fh.write(_rows(5, 3) + "2027-01-05T00:08:00Z,150")  # the last line is not complete yet
    assert len(live.poll()) == 8
    with path.open("a") as fh:
        fh.write("08,16508\n")
    assert len(live.poll()) == 9
    path.unlink()
    path.write_text("time,it,grid\n" + _rows(30, 2))  # rotated: a new, shorter file
    again = live.poll()
    assert len(again) == 2 and str(again["time"].iloc[0]) == "2027-01-05 00:30:00+00:00"


def test_broken_rows_set_a_status_instead_of_crashing_the_dashboard(tmp_path):
    path = tmp_path / "live.csv"
    path.write_text("time,it,grid\n" + _rows(0, 2) + "2027-01-05T00:02:00Z,abc,1\n")
    live = LiveFollower(load_scenario(), MAP, str(path))
    assert live.poll().empty
    assert "not a finite number" in live.status


def test_only_loopback_endpoints_are_followed_and_a_scrape_is_stamped():
    with pytest.raises(InputError, match="loopback"):
        LiveFollower(load_scenario(), MAP, "http://10.1.2.3:9100/metrics")

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = b"# TYPE it gauge\nit 15000\ngrid 16400\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    doc = load_scenario().model_dump(mode="json")
    doc["phases"][0]["start"] = "2020-01-01"  # a site already running today
    try:
        live = LiveFollower(scenario_from_dict(doc), MAP, f"http://127.0.0.1:{server.server_port}/metrics")
        rows = live.poll()
        assert len(rows) == 1, live.status
        assert rows["measured_grid_power_kw"].iloc[0] == 16400 and rows["predicted_grid_power_kw"].iloc[0] > 15000
    finally:
        server.shutdown()

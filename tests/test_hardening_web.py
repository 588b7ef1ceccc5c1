"""Dashboard hardening: regular files only, CSRF bound to session and origin, damaged runs and hostile bodies
give clear 4xx answers, and any loopback address can be served."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from run_fixture import fake_runner, make_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dctwin.results.run_dir import seal_manifest
from dctwin.web import create_app

BASE = "http://127.0.0.1"
TOKEN = "s3cret-token-0123456789"
FORM = {"racks": "10", "duration_days": "2", "policy": "easy_backfill"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hard-runs")
    make_run(root, "alpha", seed=1, days=3)
    return root


@pytest.fixture
def client(runs) -> TestClient:
    return TestClient(create_app(runs, None, runner=fake_runner(), write_reports=False), base_url=BASE)


def _token(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/new").text).group(1)


def _copy(runs: Path, name: str) -> Path:
    dst = runs / name
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(runs / "alpha", dst, symlinks=True)
    return dst


def test_symlinked_figure_and_report_are_not_served(runs, client, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET")
    run = _copy(runs, "links")
    (run / "figures").mkdir(exist_ok=True)
    os.symlink(secret, run / "figures" / "x.png")
    os.symlink(secret, run / "report.html")
    for url in ("/runs/links/figures/x.png", "/runs/links/report.html"):
        r = client.get(url)
        assert r.status_code == 404 and "SECRET" not in r.text, url
    assert "x.png" not in client.get("/runs/links").text


def test_symlinked_figures_folder_is_not_followed(runs, client, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "y.png").write_bytes(b"SECRET-PNG")
    run = _copy(runs, "dirlink")
    shutil.rmtree(run / "figures", ignore_errors=True)
    os.symlink(outside, run / "figures")
    r = client.get("/runs/dirlink/figures/y.png")
    assert r.status_code == 404 and b"SECRET" not in r.content


def test_planted_session_cookie_cannot_forge_a_post(client):
    # a page on another loopback port can set cookies for 127.0.0.1 and choose their value
    for name in ("dctwin_csrf", "dctwin_session"):
        client.cookies.set(name, "planted-by-attacker-0123456789")
    r = client.post("/runs", data={**FORM, "csrf_token": "planted-by-attacker-0123456789"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/api/runs", json=FORM, headers={"x-csrf-token": "planted-by-attacker-0123456789"})
    assert r.status_code == 403


def test_post_from_another_origin_is_refused_even_with_a_valid_token(client):
    token = _token(client)
    r = client.post("/runs", data={**FORM, "csrf_token": token}, headers={"origin": "http://127.0.0.1:9999"},
                    follow_redirects=False)
    assert r.status_code == 403 and "another origin" in r.text
    r = client.post("/runs", data={**FORM, "csrf_token": token, "run_name": "same-origin"},
                    headers={"origin": "http://127.0.0.1"}, follow_redirects=False)
    assert r.status_code in (303, 422) and "CSRF" not in r.text   # past the CSRF check, on to the form


def test_token_from_another_session_is_refused(runs, client):
    token = _token(client)
    other = TestClient(create_app(runs, None, runner=fake_runner(), write_reports=False), base_url=BASE)
    other.get("/new")
    r = other.post("/runs", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403


def test_junk_auth_header_does_not_skip_csrf_in_token_mode(runs):
    c = TestClient(create_app(runs, TOKEN, runner=fake_runner(), write_reports=False), base_url="http://dc.example")
    assert c.get(f"/?token={TOKEN}").status_code == 200          # the browser's token cookie
    for headers in ({"authorization": "Basic junk"}, {"authorization": "Bearer junk"}, {"x-dctwin-token": "junk"}):
        r = c.post("/api/runs", json=FORM, headers=headers)
        assert r.status_code in (401, 403), (headers, r.status_code)
    r = c.post("/api/runs", json={**FORM, "racks": "x"}, headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 422                                   # a real token header skips CSRF, reaches the form


def test_tampered_run_is_refused_by_the_dashboard(runs, client):
    run = _copy(runs, "tampered")
    with open(run / "jobs.parquet", "ab") as f:
        f.write(b"junk")
    for url in ("/runs/tampered", "/api/runs/tampered", "/runs/tampered/report.html"):
        r = client.get(url)
        assert r.status_code == 409 and "changed after it finished" in r.text, url


def test_corrupt_run_gives_a_clear_answer_not_500(runs, client):
    run = _copy(runs, "corrupt")
    (run / "timeseries.parquet").write_bytes(b"PAR1 not parquet PAR1")
    manifest = json.loads((run / "manifest.json").read_text())
    import hashlib

    manifest["files"]["timeseries.parquet"] = hashlib.sha256((run / "timeseries.parquet").read_bytes()).hexdigest()
    (run / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))  # a consistent run with a bad table
    r = client.get("/runs/corrupt")
    assert 400 <= r.status_code < 500 and "timeseries" in r.text
    r = client.get("/compare?run=alpha&run=corrupt")
    assert 400 <= r.status_code < 500


def test_deeply_nested_json_body_is_a_400(client):
    token = _token(client)
    body = "[" * 30_000 + "]" * 30_000
    r = client.post("/api/runs", content=body, headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == 400
    body = json.dumps({"racks": json.loads("[" * 500 + "]" * 500)})
    r = client.post("/api/runs", content=body, headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == 400


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def test_serve_on_another_loopback_address_answers(tmp_path):
    host = "127.0.0.2"
    port = _free_port(host)
    proc = subprocess.Popen([sys.executable, "-m", "dctwin", "serve", "--runs", str(tmp_path), "--host", host,
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status is None:
            try:
                status = httpx.get(f"http://{host}:{port}/healthz", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.3)
        assert status == 200
        assert httpx.get(f"http://{host}:{port}/healthz", headers={"host": "evil.example"}).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _default_form(client) -> dict[str, str]:
    html = client.get("/new").text
    values = dict(re.findall(r'<input id="([a-z_]+)" name="[a-z_]+" value="([^"]*)"', html))
    return {**values, "duration_days": "2", "policy": "easy_backfill", "csrf_token": _token(client)}


def test_runs_folder_cap_refuses_new_runs(runs, tmp_path):
    shutil.copytree(runs / "alpha", tmp_path / "alpha")
    c = TestClient(create_app(tmp_path, None, runner=fake_runner(), write_reports=False, max_runs=1), base_url=BASE)
    r = c.post("/runs", data={**_default_form(c), "run_name": "one-more"}, follow_redirects=False)
    assert r.status_code == 422 and "limit of this dashboard is 1" in r.text
    assert c.get("/api/jobs").json() == []


def test_low_disk_refuses_new_runs(runs, tmp_path):
    c = TestClient(create_app(tmp_path, None, runner=fake_runner(), write_reports=False, min_free_mb=1e12),
                   base_url=BASE)
    r = c.post("/runs", data={**_default_form(c), "run_name": "no-room"}, follow_redirects=False)
    assert r.status_code == 422 and "MB free" in r.text
    assert c.get("/api/jobs").json() == []


@pytest.mark.parametrize("body,problem", [
    ('{"racks": 10, "duration_days": 2, "policy": "fifo", "seed": 7}', "unknown field 'seed'"),
    ('{"racks": 10, "racks": 5000, "duration_days": 2, "policy": "fifo"}', "no key twice"),
])
def test_an_api_field_the_form_would_ignore_or_overwrite_is_refused(client, body, problem):
    # `seed` was accepted and ignored (202); a key given twice kept its last value
    token = _token(client)
    r = client.post("/api/runs", content=body, headers={"x-csrf-token": token, "content-type": "application/json"})
    assert r.status_code == 400 and problem in r.json()["detail"]


def _serve_exit(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dctwin", "serve", "--runs", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args,problem", [
    (("--port", "70000"), "not a TCP port"),
    (("--port", "-1"), "not a TCP port"),
    (("--host", "no such host", "--token", TOKEN, "--port", "0"), "cannot listen there"),
])
def test_serve_refuses_what_it_cannot_listen_on(tmp_path, args, problem):
    proc = _serve_exit(tmp_path, *args)
    assert proc.returncode == 2 and problem in proc.stderr and "Traceback" not in proc.stderr


def test_serve_on_a_busy_port_or_a_file_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        proc = _serve_exit(tmp_path, "--port", str(s.getsockname()[1]))
    assert proc.returncode == 2 and "cannot listen there" in proc.stderr
    (tmp_path / "f").write_text("x")
    proc = _serve_exit(tmp_path / "f", "--port", "0")
    assert proc.returncode == 2 and "not a folder" in proc.stderr and "Traceback" not in proc.stderr


def test_a_run_with_an_edited_manifest_is_listed_without_its_fields_and_refused(runs, client):
    # the runs list printed an edited manifest's scenario name and seed as the run's own
    run = _copy(runs, "edited")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["scenario_name"] = "planted-name"
    (run / "manifest.json").write_text(json.dumps(manifest))
    listed = {r["name"]: r for r in client.get("/api/runs").json()}
    assert "planted-name" not in client.get("/").text and listed["edited"]["kpis"] == {}
    assert "refused" in listed["edited"]["scenario_name"]
    r = client.get("/runs/edited")
    assert r.status_code == 409 and "its fields" in r.text

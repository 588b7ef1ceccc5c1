"""The dashboard's routes and guards: runs, figures, the run form, tokens, CSRF, traversal, sizes."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from run_fixture import fake_runner, make_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dctwin.errors import InputError
from dctwin.web import create_app, is_loopback, serve

BASE = "http://127.0.0.1"
TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    make_run(root, "alpha", seed=1)
    make_run(root, "beta", seed=2, pue_offset=0.05, description='<img src=x onerror="alert(1)">')
    return root


@pytest.fixture(scope="module")
def client(runs) -> TestClient:
    return TestClient(create_app(runs, None, runner=fake_runner()), base_url=BASE)


def _csrf(client: TestClient) -> str:
    html = client.get("/new").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _wait_job(client: TestClient, job_id: str, timeout_s: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_lists_runs_and_draws_figures(client):
    listed = {r["name"]: r for r in client.get("/api/runs").json()}
    assert set(listed) >= {"alpha", "beta"}
    assert listed["beta"]["kpis"]["pue"] > listed["alpha"]["kpis"]["pue"]
    page = client.get("/runs/alpha")
    assert page.status_code == 200
    assert page.text.count('type="application/json" data-figure=') >= 8
    assert "script-src 'self'" in page.headers["content-security-policy"]
    cmp = client.get("/compare?run=alpha&run=beta")
    assert cmp.status_code == 200 and "Comparison of 2 runs" in cmp.text


def test_pages_load_nothing_from_the_internet(client):
    for url in ("/", "/runs/alpha", "/new", "/compare?run=alpha&run=beta"):
        html = client.get(url).text
        assert not re.search(r'(src|href)=["\']?(https?:)?//', html), url
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000


@pytest.mark.parametrize("name", ["%2e%2e", "..%2f..%2fetc", "%2e%2e%2fpasswd", ".alpha", "a%00b",
                                  "alpha%2f..%2f..", "..%5c..%5cwindows", "~root", "nope"])
def test_path_traversal_is_refused(client, name):
    for url in (f"/runs/{name}", f"/api/runs/{name}", f"/runs/{name}/report.html", f"/compare?run=alpha&run={name}"):
        r = client.get(url)
        assert r.status_code in (400, 404), (url, r.status_code)
        assert "root:" not in r.text


def test_symlink_out_of_the_runs_folder_is_refused(tmp_path):
    outside = make_run(tmp_path / "elsewhere", "secret")
    root = tmp_path / "runs"
    root.mkdir()
    os.symlink(outside, root / "link")
    c = TestClient(create_app(root, None, runner=fake_runner()), base_url=BASE)
    assert c.get("/runs/link").status_code == 404
    assert c.get("/api/runs").json() == []


def test_text_from_runs_is_escaped(client, runs):
    page = client.get("/runs/beta").text
    assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;img src=x onerror=" in page


def test_form_rejects_malformed_input_with_clear_messages(client):
    token = _csrf(client)
    bad = {"csrf_token": token, "racks": "lots", "liquid_supply_temp_c": "99", "power_cap_mw": "",
           "duration_days": "2", "policy": "coin_flip", "run_name": "../../etc"}
    r = client.post("/runs", data=bad, follow_redirects=False)
    assert r.status_code == 422
    assert "must be a whole number" in r.text
    assert "between 15 and 60" in r.text
    assert "required" in r.text
    assert "unknown policy" in r.text
    assert "not a valid run name" in r.text
    assert client.get("/api/jobs").json() == [] or all(j["run"] != "../../etc" for j in client.get("/api/jobs").json())


def test_form_without_csrf_token_is_refused(client):
    r = client.post("/runs", data={"racks": "10"}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    client.cookies.set("dctwin_csrf", "forged")
    r = client.post("/runs", data={"racks": "10", "csrf_token": "other"}, follow_redirects=False)
    assert r.status_code == 403
    client.cookies.clear()


def test_form_starts_a_run_that_completes(client, runs):
    token = _csrf(client)
    form = {"csrf_token": token, "racks": "40", "liquid_supply_temp_c": "40", "power_cap_mw": "20",
            "duration_days": "3", "policy": "easy_backfill", "run_name": "from-form",
            "description": "<b>bold</b> notes"}
    r = client.post("/runs", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[-500:]
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/jobs/{job_id}").status_code == 200
    job = _wait_job(client, job_id)
    assert job["state"] == "done" and job["fraction"] == 1.0
    assert (runs / "from-form" / "report.html").is_file()
    assert "from-form" in {r["name"] for r in client.get("/api/runs").json()}
    manifest = json.loads((runs / "from-form" / "manifest.json").read_text())
    assert manifest["scenario"]["phases"][0]["racks"][0]["count"] == 40
    page = client.get("/runs/from-form").text
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    # The same name again is refused, not overwritten.
    r = client.post("/runs", data={**form, "csrf_token": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 422 and "exists already" in r.text


def test_json_api_needs_csrf_header(client):
    r = client.post("/api/runs", json={"racks": 10})
    assert r.status_code == 403
    token = _csrf(client)
    r = client.post("/api/runs", json={"racks": "x"}, headers={"x-csrf-token": token})
    assert r.status_code == 422 and "racks" in r.json()["errors"]


def test_oversized_bodies_are_refused(client):
    token = _csrf(client)
    r = client.post("/runs", data={"csrf_token": token, "description": "x" * 200_000})
    assert r.status_code == 413

    def chunks():
        for _ in range(100):
            yield b"a" * 4096

    r = client.post("/api/runs", content=chunks(), headers={"x-csrf-token": token,
                                                            "content-type": "application/json"})
    assert r.status_code == 413


def test_foreign_host_header_is_refused(client):
    assert client.get("/api/runs", headers={"host": "attacker.example"}).status_code == 400


def test_token_is_required_on_every_request(runs):
    c = TestClient(create_app(runs, TOKEN, runner=fake_runner()), base_url="http://dc.example")
    for url in ("/", "/api/runs", "/runs/alpha", "/static/plotly.min.js", "/new", "/healthz"):
        assert c.get(url).status_code == 401, url
    assert c.post("/api/runs", json={}).status_code == 401
    assert c.get("/api/runs", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/runs", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert c.get("/api/runs", headers={"x-dctwin-token": TOKEN}).status_code == 200
    # A browser opens /?token=T once; the cookie carries it afterwards.
    assert c.get(f"/?token={TOKEN}").status_code == 200
    assert c.get("/api/runs").status_code == 200


def test_serve_refuses_other_interfaces_without_a_token(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    with pytest.raises(InputError, match="token"):
        serve(tmp_path, host="0.0.0.0", port=1)
    with pytest.raises(InputError, match="too short"):
        serve(tmp_path, host="0.0.0.0", port=1, token="short")


def test_form_defaults_are_accepted_as_they_are(client):
    """Submitting the untouched form validates (the default scenario's values pass every check)."""
    from dctwin.web.form import parse_form

    html = client.get("/new").text
    values = dict(re.findall(r'<input id="([a-z_]+)" name="[a-z_]+" value="([^"]*)"', html))
    parsed = parse_form({**values, "policy": "easy_backfill"})
    assert parsed["duration_days"] == int(parsed["duration_days"]) >= 1
    assert isinstance(parsed["racks"], int)


@pytest.mark.parametrize("exc, shown", [(InputError("racks exceed the power envelope", field="phases"),
                                         "racks exceed the power envelope"),
                                        (RuntimeError("boom"), "internal error (RuntimeError)")])
def test_a_failed_run_reports_why(tmp_path, exc, shown):
    def runner(scenario, out_dir, progress):
        progress("site", 0.1)
        raise exc

    c = TestClient(create_app(tmp_path, None, runner=runner), base_url=BASE)
    r = c.post("/api/runs", json={"racks": 10, "liquid_supply_temp_c": 45, "power_cap_mw": 23, "duration_days": 1,
                                  "policy": "easy_backfill"}, headers={"x-csrf-token": _csrf(c)})
    assert r.status_code == 202, r.text
    job = _wait_job(c, r.json()["id"])
    assert job["state"] == "failed" and shown in job["error"]
    assert "boom" not in job["error"]
    assert not any(p.name != ".hidden" for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_static_pngs_are_served_and_names_checked(client, runs):
    pytest.importorskip("kaleido")
    from dctwin.report import write_report

    write_report(runs / "alpha", png=True)
    page = client.get("/runs/alpha").text
    assert "/runs/alpha/figures/pue_ambient.png" in page
    r = client.get("/runs/alpha/figures/pue_ambient.png")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    for bad in ("..%2fmanifest.json", "manifest.json", "x.png", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"):
        assert client.get(f"/runs/alpha/figures/{bad}").status_code in (400, 404), bad

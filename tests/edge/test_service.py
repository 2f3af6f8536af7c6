"""The real service: antbee-edge --serve in a subprocess on a free loopback port; every endpoint, bad uploads."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import corpus
from service_client import BLUE, MB, RED, Server, multipart, png, raw, status_line

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def open_server(tiny_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("open")
    server = Server(["--model", str(tiny_models.int8), "--events", str(folder / "events.db")])
    server.events = folder / "events.db"
    yield server
    server.stop()


def test_classify_answers_the_json_line_for_multipart_and_raw_bodies(open_server, tiny_models):
    body, headers = multipart("image", "red.png", png(RED))
    status, answer = open_server.json("POST", "/api/classify", body, headers)
    assert status == 200
    assert (answer["source"], answer["label"], sorted(answer["scores"])) == ("red.png", "ant", ["ant", "bee"])
    assert answer["top"][0]["label"] == "ant" and answer["latency_ms"] > 0
    status, answer = open_server.json("POST", "/api/classify", png(BLUE), {"Content-Type": "image/png"})
    assert (status, answer["source"], answer["label"]) == (200, "upload", "bee")
    # The same object as one `antbee-edge --json` line for that file.
    cli = subprocess.run([sys.executable, "-m", "antbee.edge", "--json", "--model", str(tiny_models.int8),
                          str(REPO_ROOT / "edge" / "samples" / "ant_1.jpg")], capture_output=True, text=True)
    line = json.loads(cli.stdout)
    body, headers = multipart("image", line["source"], (REPO_ROOT / "edge" / "samples" / "ant_1.jpg").read_bytes())
    _, answer = open_server.json("POST", "/api/classify", body, headers)
    del answer["latency_ms"], line["latency_ms"]
    assert answer == line


def test_status_healthz_page_and_metrics(open_server, tiny_models):
    import hashlib

    status, state = open_server.json("GET", "/api/status")
    assert status == 200 and state["mode"] == "api-only" and state["sources"] == {}
    assert state["model"]["labels"] == ["ant", "bee"]
    assert state["model"]["sha256"] == hashlib.sha256(tiny_models.int8.read_bytes()).hexdigest()
    assert state["model"]["runtime"] and state["uptime_s"] > 0
    assert open_server.json("GET", "/healthz") == (200, {"status": "ok"})
    status, headers, page = open_server.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'name="viewport"' in page and b'type="file" name="image"' in page
    assert not re.search(rb"""(src|href)=["']?(https?:)?//""", page)  # nothing from a CDN
    open_server.request("POST", "/api/classify", png(RED))
    status, headers, text = open_server.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    counted = re.search(rb'antbee_classifications_total\{label="ant",source_id="api"\} (\d+)', text)
    assert counted and int(float(counted[1])) >= 1
    assert b"antbee_latency_seconds_bucket" in text and b"antbee_model_rejections_total 0.0" in text


def test_results_come_from_the_event_log(open_server):
    before = open_server.json("GET", "/api/results?limit=1000")[1]["results"]
    open_server.request("POST", "/api/classify", png(BLUE))
    status, data = open_server.json("GET", "/api/results?limit=1")
    assert status == 200 and len(data["results"]) == 1
    newest = data["results"][0]
    assert newest["kind"] == "classification" and newest["label"] == "bee" and newest["source_id"] == "api"
    assert all(newest["seq"] > old["seq"] for old in before)
    since = before[-1]["time"] if before else "2000-01-01T00:00:00Z"
    later = open_server.json("GET", f"/api/results?since={since.replace('+', '%2B')}")[1]["results"]
    assert newest["seq"] in [r["seq"] for r in later] and all(r["time"] > since for r in later)
    db = sqlite3.connect(open_server.events)
    assert db.execute("SELECT label FROM events WHERE seq = ?", (newest["seq"],)).fetchone() == ("bee",)
    db.close()
    for bad in ("since=yesterday", "limit=0", "limit=x", "limit=100000"):
        status, answer = open_server.json("GET", f"/api/results?{bad}")
        assert status == 400 and "expected" in answer["error"]


def test_model_upload_needs_a_token_even_on_loopback(open_server, tiny_models):
    status, answer = open_server.json("POST", "/api/model", tiny_models.float32.read_bytes())
    assert status == 403 and "token" in answer["error"]


def _bad_uploads():
    cases = [(case.kind + " " + case.filename, case.data) for case in corpus.image_corpus() if case.expect == "error"]
    return cases


@pytest.mark.parametrize("kind, data", _bad_uploads(), ids=[kind for kind, _ in _bad_uploads()])
def test_each_bad_upload_of_the_corpus_gets_a_4xx_and_the_service_stays_healthy(open_server, kind, data):
    for body, headers in (multipart("image", "bad", data), (data, {})):
        status, answer = open_server.json("POST", "/api/classify", body, headers)
        assert status in (400, 415) and answer["error"], (kind, status, answer)
    assert open_server.json("GET", "/healthz")[0] == 200
    assert open_server.json("POST", "/api/classify", png(RED))[1]["label"] == "ant"


def test_status_codes_of_bad_uploads(open_server, tmp_path):
    bomb = corpus.png_bomb(tmp_path / "bomb.png").read_bytes()
    cases = {"empty": (b"", 400), "truncated JPEG": (cv2.imencode(".jpg", np.full((48, 64, 3), RED, np.uint8))[1]
                                                     .tobytes()[:300], 400),
             "PNG bomb": (bomb, 413), "not an image": (b"hello, bees", 415)}
    for kind, (data, expected) in cases.items():
        status, answer = open_server.json("POST", "/api/classify", data)
        assert status == expected, (kind, answer)
    body, headers = multipart("photo", "red.png", png(RED))
    assert open_server.json("POST", "/api/classify", body, headers)[0] == 400  # no field named image
    body, headers = multipart("image", "red.png", png(RED))
    assert open_server.json("POST", "/api/classify", body[:-30], headers)[0] == 400  # cut-off multipart
    assert open_server.json("GET", "/healthz")[0] == 200
    status, _, text = open_server.request("GET", "/metrics")
    assert re.search(rb'antbee_refused_uploads_total\{status="413"\} [1-9]', text)


def test_a_body_declared_too_large_is_refused_before_it_is_sent(open_server):
    head = (b"POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (20 * MB + 1))
    with raw(open_server.port, head) as sock:
        assert status_line(sock) == b"HTTP/1.1 413 Request Entity Too Large"  # no 100 Continue first
    assert open_server.json("GET", "/healthz")[0] == 200


def test_a_small_body_with_expect_continue_is_answered(open_server):
    data = png(RED)
    head = (b"POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
            % len(data))
    with raw(open_server.port, head) as sock:
        assert status_line(sock) == b"HTTP/1.1 100 Continue"
        sock.sendall(data)
        assert status_line(sock) == b"HTTP/1.1 200 OK"


def test_a_chunked_body_is_cut_off_at_the_limit(open_server):
    head = b"POST /api/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (MB, b"\xff" * MB)
    with raw(open_server.port, head) as sock:
        sent = 0
        try:
            while sent < 40 * MB:  # twice the limit, and never the closing chunk
                sock.sendall(chunk)
                sent += MB
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the rest was never read
        assert status_line(sock) == b"HTTP/1.1 413 Request Entity Too Large"
    assert 20 * MB <= sent
    assert open_server.json("GET", "/healthz")[0] == 200


def test_events_streams_each_result_as_it_happens(open_server):
    with raw(open_server.port, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n") as sock:
        head = b""
        while b": antbee results" not in head:
            head += sock.recv(4096)
        assert b"200 OK" in head and b"content-type: text/event-stream" in head.lower()
        open_server.request("POST", "/api/classify", png(BLUE))
        data = b""
        while b"\n\n" not in data.partition(b"data: ")[2]:
            data += sock.recv(4096)
    record = json.loads(data.partition(b"data: ")[2].split(b"\n")[0].split(b"\r\n")[0])
    assert (record["label"], record["source_id"], record["source"]) == ("bee", "api", "upload")

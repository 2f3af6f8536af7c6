"""The service with a token: the token rules, model updates (file replaced, POST /api/model), and SIGTERM."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from antbee.edge.metadata import ModelInfo, attach
from service_client import BLUE, RED, TOKEN, Server, multipart, png, raw



@pytest.fixture(scope="module")
def secured(tiny_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("secured")
    model = folder / "model.tflite"
    model.write_bytes(tiny_models.int8.read_bytes())
    for label, colour in (("ant", RED), ("bee", BLUE)):
        (folder / "verify" / label).mkdir(parents=True)
        for i in range(2):
            (folder / "verify" / label / f"{i}.png").write_bytes(png(colour))
    server = Server(["--model", str(model), "--events", str(folder / "events.db"), "--verify", str(folder / "verify")],
                    env={"ANTBEE_TOKEN": TOKEN})
    server.model, server.folder = model, folder
    yield server
    server.stop()


def test_everything_but_healthz_needs_the_token(secured):
    assert secured.request("GET", "/healthz")[0] == 200
    for method, path in (("GET", "/"), ("GET", "/api/status"), ("GET", "/api/results"), ("GET", "/metrics"),
                         ("POST", "/api/classify"), ("POST", "/api/model")):
        for token in (None, "wrong", TOKEN + "x", ""):
            status, headers, _ = secured.request(method, path, b"x" if method == "POST" else None, token=token)
            assert status == 401 and headers["www-authenticate"] == "Bearer", (method, path, token)
    assert secured.request("GET", "/api/status", token=TOKEN)[0] == 200
    assert secured.json("POST", "/api/classify", png(RED), token=TOKEN)[1]["label"] == "ant"


def test_the_login_form_sets_a_cookie_for_the_page(secured):
    status, headers, body = secured.request("GET", "/", headers={"Accept": "text/html"})
    assert status == 401 and b'<form method="post" action="/login">' in body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert secured.request("POST", "/login", b"token=nope", form)[0] == 401
    status, headers, _ = secured.request("POST", "/login", f"token={TOKEN}".encode(), form)
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    status, _, page = secured.request("GET", "/", headers={"Cookie": cookie.split(";")[0]})
    assert status == 200 and b"Classify a photo" in page
    assert secured.request("GET", "/api/status", headers={"Cookie": "antbee_token=wrong"})[0] == 401


def _wait_for_update(server, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = server.json("GET", "/api/status", token=TOKEN)[1]
        updates = state["model_updates"]
        if updates["swapped"] + updates["refused"] >= count:
            return state
        time.sleep(0.2)
    raise AssertionError(f"no model update after {timeout} s: {updates}")


def _replace(path: Path, content: bytes) -> None:
    staged = path.with_name(".staged.tflite")
    staged.write_bytes(content)
    staged.replace(path)  # as mv, rsync and Ansible do


def test_model_updates_through_the_file_and_the_api(secured, tiny_models):
    running = hashlib.sha256(tiny_models.int8.read_bytes()).hexdigest()
    worse = attach(tiny_models.plain.read_bytes(),
                   ModelInfo(labels=("ant", "bee"), size=(32, 32), resize="crop", mean=0.0, std=-1.0))
    refused = [("corrupt", b"\x00" * 4096, "not a TFLite model"),
               ("wrong labels", tiny_models.plain.read_bytes(), "labels (0, 1) differ"),
               ("worse", worse, "accuracy on")]
    done = 0
    for case, content, reason in refused:
        _replace(secured.model, content)
        done += 1
        state = _wait_for_update(secured, done)
        last = state["model_updates"]["last"]
        assert last["action"] == "refused" and reason in last["reason"], case
        assert state["model"]["sha256"] == running
        assert secured.json("POST", "/api/classify", png(BLUE), token=TOKEN)[1]["label"] == "bee"

    # A good model, while a client classifies without pause: every request is answered.
    answers, stop = [], threading.Event()

    def classify():
        while not stop.is_set():
            answers.append(secured.json("POST", "/api/classify", png(RED), token=TOKEN))

    client = threading.Thread(target=classify)
    client.start()
    try:
        _replace(secured.model, tiny_models.float32.read_bytes())
        done += 1
        state = _wait_for_update(secured, done)
        time.sleep(0.5)
    finally:
        stop.set()
        client.join()
    assert state["model_updates"]["last"]["action"] == "swapped"
    assert state["model"]["sha256"] == hashlib.sha256(tiny_models.float32.read_bytes()).hexdigest()
    assert state["model"]["dtype"] == "float32"
    assert answers and all(status == 200 and answer["label"] == "ant" for status, answer in answers)

    # The same checks for an upload; an accepted one also replaces the --model file.
    status, answer = secured.json("POST", "/api/model", b"\x00" * 4096, token=TOKEN)
    assert status == 422 and "not a TFLite model" in answer["error"] and answer["origin"] == "upload"
    body, headers = multipart("model", "new.tflite", tiny_models.int8.read_bytes())
    status, answer = secured.json("POST", "/api/model", body, headers, token=TOKEN)
    assert status == 200 and answer["action"] == "swapped" and answer["sha256"] == running
    assert hashlib.sha256(secured.model.read_bytes()).hexdigest() == running
    state = secured.json("GET", "/api/status", token=TOKEN)[1]
    assert state["model"]["sha256"] == running and state["model_updates"]["refused"] == 4
    _, _, text = secured.request("GET", "/metrics", token=TOKEN)
    assert b"antbee_model_rejections_total 4.0" in text and b"antbee_model_reloads_total 2.0" in text
    assert f'antbee_model_info{{sha256="{running}"}} 1.0'.encode() in text
    time.sleep(1.5)  # the watcher sees the file the upload wrote: the same model, so no new update
    assert secured.json("GET", "/api/status", token=TOKEN)[1]["model_updates"]["swapped"] == 2


def test_sigterm_stops_the_process_and_leaves_a_sound_event_log(tiny_models, tmp_path):
    server = Server(["--model", str(tiny_models.int8), "--events", str(tmp_path / "events.db")])
    for colour in (RED, BLUE, RED):
        assert server.json("POST", "/api/classify", png(colour))[0] == 200
    viewer = raw(server.port, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")  # a page left open
    assert b"200 OK" in viewer.recv(4096)
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 5  # the open stream did not hold the shutdown
    viewer.close()
    assert server.stderr[-1].strip() == "antbee-edge: stopped"
    db = sqlite3.connect(tmp_path / "events.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = db.execute("SELECT label FROM events WHERE kind = 'classification' ORDER BY seq")
    assert [row[0] for row in rows] == ["ant", "bee", "ant"]
    counts = db.execute("SELECT label, sum(count) FROM minute_counts GROUP BY label").fetchall()
    assert dict(counts) == {"ant": 2, "bee": 1}  # the minute's counts were written at shutdown
    db.close()

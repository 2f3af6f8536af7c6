"""A client for the service tests: antbee-edge --serve in a subprocess on a free loopback port, and requests."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys

import cv2
import numpy as np

RED, BLUE = (20, 30, 220), (220, 30, 20)  # BGR: the tiny models call red "ant", blue "bee"
TOKEN = "s3cret-token"
MB = 1024 * 1024


def png(colour, size=(48, 64)) -> bytes:
    return cv2.imencode(".png", np.full((*size, 3), colour, np.uint8))[1].tobytes()


class Server:
    """antbee-edge --serve in a subprocess; stopped with SIGTERM."""

    def __init__(self, args, env=None):
        self.process = subprocess.Popen([sys.executable, "-m", "antbee.edge", "--serve", "127.0.0.1:0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, **(env or {})})
        self.stderr = []
        for line in self.process.stderr:
            self.stderr.append(line)
            found = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
            if found:
                self.port = int(found[1])
                return
        raise AssertionError("the server did not start:\n" + "".join(self.stderr))

    def request(self, method, path, body=None, headers=None, token=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = (response.status, dict(response.getheaders()), response.read())
        connection.close()
        return answer

    def json(self, method, path, body=None, headers=None, token=None):
        status, _, data = self.request(method, path, body, headers, token)
        return status, json.loads(data)

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.stderr.extend(self.process.stderr)
        return self.process.returncode


def multipart(field, filename, data, boundary="antbee-boundary"):
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def raw(port, head: bytes, timeout=30) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(head)
    return sock


def status_line(sock) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]

"""The default urllib transport against hostile or broken local servers: it must
never hang, follow a redirect, read an unbounded body or skip TLS checks."""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from typing import Callable, Iterator, Optional

import pytest

import deviceflow as df
from deviceflow.transport import TransportError
from deviceflow.urllib_transport import UrllibTransport

NO_RETRY = {"request_retries": 0}


def serve(handler: Callable[[http.server.BaseHTTPRequestHandler], None],
          tls: Optional[ssl.SSLContext] = None) -> Iterator[str]:
    """Runs a local server for one iteration of a for loop; yields its base URL."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            handler(self)

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def raw_server(handler: Callable[[socket.socket], None], scheme: str = "http") -> Iterator[str]:
    """A TCP server for one iteration of a for loop: ``handler(conn)`` after the request
    head arrived (or at once for https: nothing is ever read there); yields its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                if scheme == "http":
                    conn.recv(65536)
                handler(conn)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def transport_error(base: str, timeout: float) -> tuple[TransportError, float]:
    """The TransportError of one request to ``base`` and how long it took."""
    request = df.DeviceFlow(client_id="c", device_authorization_endpoint=f"{base}/d",
                            token_endpoint=f"{base}/t").poll_action().request
    started = time.monotonic()
    with pytest.raises(TransportError) as e:
        UrllibTransport()(request, timeout)
    return e.value, time.monotonic() - started


def test_the_deadline_covers_trickling_headers() -> None:
    """A socket timeout alone bounds each recv: one byte every 100 ms would never end."""
    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):
            conn.sendall(b"x")
            time.sleep(0.1)

    for base in raw_server(trickle):
        error, took = transport_error(base, 0.5)
        assert error.kind == "timeout" and 0.45 < took < 0.9, (error.kind, took)


def test_the_deadline_covers_the_tls_handshake() -> None:
    for base in raw_server(lambda conn: time.sleep(5), scheme="https"):
        error, took = transport_error(base, 0.5)
        assert error.kind == "timeout" and 0.45 < took < 0.9, (error.kind, took)


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\ncontent-type: appl",  # cut off inside the headers
    b"HTTP/1.1 200 OK\r\n",  # no end of the headers
    b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"device_c",  # a short body
])
def test_a_cut_off_response_is_a_read_error(answer: bytes) -> None:
    for base in raw_server(lambda conn: conn.sendall(answer)):
        error, took = transport_error(base, 2.0)
        assert error.kind == "io" and took < 1, (error.kind, took)


def login(base: str, timeout: float = 1.0, **extra):
    return df.request_device_code(client_id="cli", device_authorization_endpoint=f"{base}/device",
                                  token_endpoint=f"{base}/token", timing=NO_RETRY,
                                  timeout=timeout, **extra)


def test_redirects_are_not_followed() -> None:
    hits = []

    def redirect(h):
        hits.append(h.path)
        h.send_response(302)
        h.send_header("Location", "/elsewhere")
        h.send_header("Content-Length", "0")
        h.end_headers()

    for base in serve(redirect):
        with pytest.raises(df.InvalidResponse):
            login(base)
    assert hits == ["/device"]


def test_a_trickling_body_hits_the_deadline() -> None:
    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    for base in serve(trickle):
        started = time.monotonic()
        with pytest.raises(df.NetworkError):
            login(base, timeout=1.0)
        assert time.monotonic() - started < 3


def test_a_huge_body_is_not_read_whole() -> None:
    sent = []

    def huge(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(50 * 1024 * 1024))
        h.end_headers()
        try:
            for _ in range(50 * 16):
                h.wfile.write(b"a" * 65536)
                sent.append(1)
        except OSError:
            pass

    for base in serve(huge):
        with pytest.raises(df.InvalidResponse, match="(?i)large|size|bytes|long"):
            login(base, timeout=5)


def test_connection_refused_is_a_network_error() -> None:
    for base in serve(lambda h: None):
        pass  # the server is shut down: its port now refuses
    with pytest.raises(df.NetworkError):
        login(base)
    with pytest.raises(TransportError) as e:
        UrllibTransport()(df.DeviceFlow(client_id="c", device_authorization_endpoint=f"{base}/d",
                                        token_endpoint=f"{base}/t").poll_action().request, 1.0)
    assert e.value.kind == "connect"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_is_verified(tmp_path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    answered = []

    def ok(h):
        answered.append(h.path)
        h.send_response(500)
        h.send_header("Content-Length", "0")
        h.end_headers()

    for base in serve(ok, tls=context):
        assert base.startswith("https://")
        with pytest.raises(df.NetworkError):  # self-signed: refused, never sent
            login(base)
        trusted = ssl.create_default_context(cafile=str(cert))
        with pytest.raises(df.NetworkError):  # trusted now: the server's 500s exhaust the retries
            login(base, transport=UrllibTransport(ssl_context=trusted))
    assert answered == ["/device"]
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError):
        UrllibTransport(ssl_context=unverified)

"""The demo shop's web side: an HTTP storefront with an access log, and an HTTPS API.

The storefront answers the routes the workload visits (``/``, ``/api/orders/<id>``,
``/api/cart``, ``/checkout``, ``/static/...``, ``/healthz``) and writes one nginx
``combined`` line per request, with the request time last, to the access log the
http exporter tails. :attr:`Storefront.error_share` makes that share of requests
fail with 503 (the error spike); ``/healthz`` keeps answering so that an error
spike is not also an outage.

The payments API (:class:`PaymentsApi`) is the third-party dependency the http
exporter probes over HTTPS, with a self-signed certificate. Stopping it is
"a probe target going down"; starting it again brings it back on the same port.

Both are ``http.server`` threads inside the demo process (:mod:`generator.demo.server`): they are a few lines
each, and a real web server would add nothing the exporters can see.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from generator.demo.server import BackgroundServer


class Storefront(BackgroundServer):
    """The shop's HTTP front on ``host:port`` (loopback unless told), logging to ``access_log``."""

    def __init__(self, port: int, access_log: Path, host: str = "127.0.0.1") -> None:
        super().__init__(port)
        self.host = host
        self.access_log = access_log
        self.error_share = 0.0  # share of requests answered 503 (the error spike)
        self._log_lock = threading.Lock()
        self._rng = random.Random(7)

    def _make(self) -> ThreadingHTTPServer:
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                started = time.monotonic()
                if self.path == "/healthz":
                    status = 200
                else:
                    status = 503 if shop._rng.random() < shop.error_share else 200
                    time.sleep(shop._rng.uniform(0.001, 0.02))
                body = b"ok\n" if status == 200 else b"unavailable\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                shop._log(self, status, len(body), time.monotonic() - started)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        return ThreadingHTTPServer((self.host, self.port), Handler)

    def _log(self, request: BaseHTTPRequestHandler, status: int, size: int, seconds: float) -> None:
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        agent = request.headers.get("User-Agent", "-").replace('"', "'")
        line = (f'127.0.0.1 - - [{stamp}] "{request.command} {request.path} HTTP/1.1" '
                f'{status} {size} "-" "{agent}" {seconds:.3f}\n')
        with self._log_lock, self.access_log.open("a") as handle:
            handle.write(line)


class PaymentsApi(BackgroundServer):
    """The payments provider's health endpoint, over HTTPS with ``cert``/``key``."""

    def __init__(self, port: int, cert: Path, key: Path, host: str = "127.0.0.1") -> None:
        super().__init__(port)
        self.cert, self.key, self.host = cert, key, host

    def _make(self) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b'{"status": "ok"}\n'
                self.send_response(200 if self.path.startswith("/v1/health") else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

"""The HTTP server every exporter runs: ``/metrics``, ``/healthz``, 404 elsewhere.

Why not ``prometheus_client.start_http_server``: it serves the global registry,
does its TLS handshake in the accepting thread (one silent client stalls every
scrape) and knows nothing of the ``web-config.yml`` format. Here:

- one thread per connection (``ThreadingHTTPServer``, daemon threads), and each
  connection's socket gets ``connection_timeout`` (default 10 s) before
  anything is read, so a client that connects and never speaks only holds its
  own thread, for a bounded time;
- TLS (from ``WebConfig.ssl_context``) is negotiated inside that per-connection
  thread, after the timeout is set, never in the accept loop;
- basic auth (``WebConfig.auth``) guards ``/metrics``; ``/healthz`` is
  deliberately open (liveness probes carry no credentials, and it reveals
  nothing but "the process answers");
- ``/metrics`` is rendered from the exporter's own registry with content
  negotiation (text or OpenMetrics; :mod:`exporters.common.exposition` writes
  the common cases faster, byte for byte the same) and gzip when the client
  accepts it;
- ``serve_until_signal`` returns cleanly (exit code 0) on SIGTERM or SIGINT.

Public API: ``DEFAULT_HOST``, ``MetricsServer(registry, host, port, web_config=None,
connection_timeout=10.0)`` with ``.start()``, ``.address``, ``.url``,
``.shutdown()``; ``serve_until_signal(server, on_stop=None) -> int``.
"""

from __future__ import annotations

import gzip
import logging
import signal
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted

from exporters.common.exposition import render
from exporters.common.webconfig import WebConfig

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    registry: CollectorRegistry
    web_config: WebConfig
    connection_timeout: float

    def handle_error(self, request: object, client_address: object) -> None:
        # Aborted handshakes, resets and timeouts are the client's business.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without TCP_NODELAY, Nagle's
    # algorithm meets the client's delayed ACK and every scrape waits ~40 ms.
    disable_nagle_algorithm = True
    server_version = "vigil"
    sys_version = ""

    def setup(self) -> None:
        # Runs in the connection's own thread: bound every read, then (maybe) TLS.
        self.request.settimeout(self.server.connection_timeout)
        context = self.server.web_config.ssl_context
        if context is not None:
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self.server.web_config.ssl_context is not None:
                self.request.close()  # the TLS wrapper owns the descriptor now

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _respond(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._send(200, b"OK\n", "text/plain; charset=utf-8", head)
        elif path == "/metrics":
            auth = self.server.web_config.auth
            if auth is not None and not auth.check(self.headers.get("Authorization")):
                self._send(401, b"Unauthorized\n", "text/plain; charset=utf-8", head,
                           {"WWW-Authenticate": 'Basic realm="vigil"'})
                return
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            body = render(self.server.registry, encoder)
            extra = {}
            if gzip_accepted(self.headers.get("Accept-Encoding", "")):
                body = gzip.compress(body, compresslevel=1)
                extra["Content-Encoding"] = "gzip"
            self._send(200, body, content_type, head, extra)
        else:
            self._send(404, b"Not Found\n", "text/plain; charset=utf-8", head)

    def _send(
        self, code: int, body: bytes, content_type: str, head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**self.server.web_config.headers, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _method_not_allowed(self) -> None:
        self._send(405, b"Method Not Allowed\n", "text/plain; charset=utf-8", False,
                   {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed


class MetricsServer:
    """A threaded HTTP(S) server for one exporter's registry."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str = DEFAULT_HOST,
        port: int = 0,
        web_config: WebConfig | None = None,
        connection_timeout: float = 10.0,
    ) -> None:
        server_class = _Server6 if ":" in host else _Server
        bind_host = host.strip("[]")
        self._server = server_class((bind_host, port), _Handler, bind_and_activate=True)
        self._server.registry = registry
        self._server.web_config = web_config or WebConfig()
        self._server.connection_timeout = connection_timeout
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        scheme = "https" if self._server.web_config.ssl_context else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
            name="http-server", daemon=True,
        )
        self._thread.start()

    def shutdown(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(2)
            self._thread = None
        self._server.server_close()


def serve_until_signal(server: MetricsServer, on_stop: Callable[[], None] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then stop cleanly; returns the exit code (0).

    Must be called from the main thread (Python delivers signals there).
    """
    stop = threading.Event()
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        log.info("listening on %s", server.url)
        while not stop.wait(1.0):
            pass
        log.info("received %s, shutting down", signal.Signals(received[0]).name)
    finally:
        server.shutdown()
        if on_stop is not None:
            on_stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
    return 0


__all__ = ["DEFAULT_HOST", "MetricsServer", "serve_until_signal"]

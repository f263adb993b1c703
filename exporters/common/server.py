"""The HTTP server every exporter runs: ``/metrics``, ``/healthz``, 404 elsewhere.

Why not ``prometheus_client.start_http_server`` (or ``ThreadingHTTPServer``,
which this module used before): one thread per connection and a timeout per
``recv`` let a client that sends one header byte every few seconds hold a
thread and a descriptor for ever; about a thousand of them exhausted the
descriptors, and every scrape failed while the accept loop spun on EMFILE.

How connections are handled instead (the "selector-based header reader"
design, chosen over a reserved-slot pool because it needs no guess at which
client is Prometheus and costs a slow client only a descriptor and a buffer,
never a thread):

- One event-loop thread (``selectors``) accepts connections, negotiates TLS
  (non-blocking handshakes, so a silent TLS client stalls nobody), reads
  request headers and writes responses. Only a *complete* request head is
  handed to a small pool of worker threads (``ServerLimits.workers``), which
  check basic auth and render the page into memory; the loop writes it out.
  Workers therefore never wait on a client's network.
- **Bound on connections**: at most ``max_connections`` client connections
  are open (lowered to fit the process' ``RLIMIT_NOFILE``, keeping a reserve
  for the exporter's own files and database connections).
- **Reserved capacity**: when the bound is reached, a new connection is still
  accepted and the *oldest unfinished* connection of the source address
  holding the most connections is closed (requests being rendered are never
  chosen). Prometheus sends its whole request within milliseconds of
  connecting and holds one connection, so it is never that victim while a
  slow client holds more: its scrapes get through during an attack.
- **Whole-request deadlines**: from accept (or from the end of the previous
  response on a keep-alive connection) the TLS handshake and the complete
  request head must arrive within ``request_timeout``; the whole response
  must be written within ``write_timeout``. Neither is reset by a trickle of
  bytes.
- **EMFILE/ENFILE** (out of descriptors despite that reserve): the bound is
  lowered to what the process could actually open and unfinished
  connections are closed to get under it, so accepting goes on; with nothing
  to close, accepting pauses with a back-off (50 ms doubling to 1 s) instead
  of spinning on a listening socket that stays readable. Accept errors are
  logged through :class:`RateLimitedLog` (one line per minute with a count
  of the suppressed ones).
- **Requests**: HTTP/1.0 and 1.1 only; an HTTP/0.9 request line (no version)
  or anything that is not ``METHOD TARGET HTTP/x.y`` is answered 400 and the
  connection closed. Heads are bounded (``max_header_bytes``, 100 lines).
  Bodies are never read: a request announcing one (``Content-Length`` other
  than 0, or ``Transfer-Encoding``) is answered and the connection closed, so
  a body can never be parsed as a second, pipelined request.
- Basic auth (``WebConfig.auth``) guards ``/metrics``; ``/healthz`` is
  deliberately open (liveness probes carry no credentials, and it reveals
  nothing but "the process answers"). When bcrypt work is saturated by
  unknown credentials the answer is 429 with ``Retry-After`` (see
  :mod:`exporters.common.webconfig`).
- ``/metrics`` is rendered from the exporter's own registry with content
  negotiation (text or OpenMetrics; :mod:`exporters.common.exposition`) and
  gzip when the client accepts it.
- ``serve_until_signal`` returns cleanly (exit code 0) on SIGTERM or SIGINT.
- **Routes** (``routes={path: Route(...)}``): a component that is more than an
  exporter (the incident recorder's webhook and acknowledgement endpoints)
  adds its own paths here instead of running a second server. A route that
  takes a body names its bound (``max_body_bytes``): only then is a body read,
  and only with a ``Content-Length`` within that bound (``Transfer-Encoding``
  is answered 411, a larger length 413 before a byte of it is read), inside
  the same whole-request deadline as the head. Routes are behind basic auth
  unless they say otherwise, and their handlers run in the worker threads, so
  they must answer from memory (the recorder only enqueues).

Public API: ``DEFAULT_HOST``, ``ServerLimits``, ``Route``, ``Request``,
``Response``, ``MetricsServer(registry, host, port, web_config=None,
connection_timeout=10.0, limits=None, routes=None)`` with
``.start()``, ``.address``, ``.url``, ``.max_connections``, ``.shutdown()``;
``serve_until_signal(server, on_stop=None) -> int``.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import logging
import re
import resource
import selectors
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from queue import Empty, SimpleQueue
from types import FrameType
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, gzip_accepted

from exporters.common.exposition import render
from exporters.common.ratelog import RateLimitedLog
from exporters.common.webconfig import AuthResult, WebConfig

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"

# METHOD SP request-target SP HTTP/x.y: anything else (HTTP/0.9 included) is a 400.
_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^\s]+ HTTP/[0-9]\.[0-9]\r?\n\Z")
_SWEEP_INTERVAL = 0.1  # how often deadlines are checked
_DRAIN_SECONDS = 1.0  # after a closing response: discard what the client still sends
_DRAIN_BYTES = 256 * 1024
_RECV_BYTES = 64 * 1024
_SEND_BYTES = 256 * 1024
_MAX_BACKOFF = 1.0

# connection states
_HANDSHAKE, _READ, _BUSY, _WRITE, _DRAIN, _CLOSED, _BODY = range(7)
_CONTENT_LENGTH = re.compile(rb"\r?\ncontent-length[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_TRANSFER_ENCODING = re.compile(rb"\r?\ntransfer-encoding[ \t]*:", re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    """One complete request as a route handler sees it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    client_ip: str


@dataclass(frozen=True)
class Response:
    """What a route handler answers; the server adds length and security headers."""

    code: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """An extra endpoint beside ``/metrics`` and ``/healthz``; see the module docstring."""

    handler: Callable[[Request], Response]
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    max_body_bytes: int = 0  # 0: the route takes no body
    auth: bool = True  # behind the web config's basic auth, like /metrics


@dataclass(frozen=True)
class ServerLimits:
    """What one exporter's HTTP server allows; see the module docstring."""

    max_connections: int = 256
    request_timeout: float = 10.0
    write_timeout: float = 30.0
    max_header_bytes: int = 16 * 1024
    workers: int = 4

    def __post_init__(self) -> None:
        if self.max_connections < 1 or self.workers < 1 or self.max_header_bytes < 1024:
            raise ValueError("max_connections and workers must be >= 1, max_header_bytes >= 1024")
        if not (0 < self.request_timeout < 3600 and 0 < self.write_timeout < 3600):
            raise ValueError("timeouts must be between 0 and 3600 seconds")


def fit_to_descriptor_limit(max_connections: int) -> int:
    """``max_connections`` lowered so that the process' RLIMIT_NOFILE keeps a reserve.

    The reserve (an eighth of the limit, at least 32) is for everything else
    the exporter opens: /proc files, certificates, database connections, logs.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(8, min(max_connections, soft - max(32, soft // 8)))


class _Conn:
    """One client connection and where it is in its request cycle."""

    __slots__ = ("body_needed", "close_after", "deadline", "drained", "events", "head", "inbuf",
                 "ip", "out", "sock", "state", "tls")

    def __init__(self, sock: socket.socket, ip: str, deadline: float, tls: bool) -> None:
        self.sock = sock
        self.ip = ip
        self.state = _HANDSHAKE if tls else _READ
        self.inbuf = bytearray()
        self.out = memoryview(b"")
        self.close_after = False
        self.deadline = deadline
        self.events = 0
        self.tls = tls
        self.drained = 0
        self.head = b""
        self.body_needed = 0


class _Handler(BaseHTTPRequestHandler):
    """One complete request head in, one complete response out (all in memory)."""

    protocol_version = "HTTP/1.1"
    server_version = "vigil"
    sys_version = ""

    def __init__(self, head: bytes, client_ip: str, server: MetricsServer,
                 body: bytes | None = None) -> None:
        # Deliberately not BaseRequestHandler.__init__: there is no socket here.
        self.rfile = io.BytesIO(head)
        self.wfile = io.BytesIO()
        self.client_address = (client_ip, 0)
        self.metrics_server = server
        self.body = body  # None: the request's body (if any) was not read
        self.close_connection = True
        self.handle_one_request()

    def response(self) -> bytes:
        return self.wfile.getvalue()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        length = (self.headers.get("Content-Length") or "0").strip()
        if self.body is None and (length != "0"
                                  or self.headers.get("Transfer-Encoding") is not None):
            self.close_connection = True  # its body is never read, so never parsed as a request
        return True

    def handle_expect_100(self) -> bool:
        return True  # no "100 Continue": bodies are not read

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _authorised(self, head: bool) -> bool:
        """Basic auth (when configured); answers 401/429 itself and returns False."""
        auth = self.metrics_server.web_config.auth
        verdict = auth.verify(self.headers.get("Authorization")) if auth else AuthResult.OK
        if verdict is AuthResult.BUSY:
            self._send(429, b"Too Many Requests\n", "text/plain; charset=utf-8", head,
                       {"Retry-After": "1"})
            return False
        if verdict is not AuthResult.OK:
            self._send(401, b"Unauthorized\n", "text/plain; charset=utf-8", head,
                       {"WWW-Authenticate": 'Basic realm="vigil"'})
            return False
        return True

    def _route(self, route: Route, head: bool) -> None:
        if self.command not in route.methods:
            self._send(405, b"Method Not Allowed\n", "text/plain; charset=utf-8", head,
                       {"Allow": ", ".join(sorted(route.methods))})
            return
        if route.auth and not self._authorised(head):
            return
        if self.body is None and route.max_body_bytes and self.command not in ("GET", "HEAD"):
            self._send(411, b"Length Required\n", "text/plain; charset=utf-8", head)
            return
        split = urlsplit(self.path)
        request = Request(self.command, split.path, split.query,
                          {k.lower(): v for k, v in self.headers.items()}, self.body or b"",
                          self.client_address[0])
        answer = route.handler(request)
        self._send(answer.code, answer.body, answer.content_type, head, dict(answer.headers))

    def _respond(self, head: bool) -> None:
        server = self.metrics_server
        path = urlsplit(self.path).path
        route = server.routes.get(path)
        if route is not None:
            self._route(route, head)
        elif path == "/healthz":
            self._send(200, b"OK\n", "text/plain; charset=utf-8", head)
        elif path == "/metrics":
            if not self._authorised(head):
                return
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            body = render(server.registry, encoder)
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
        for name, value in {**self.metrics_server.web_config.headers, **(extra or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _method_not_allowed(self) -> None:
        route = self.metrics_server.routes.get(urlsplit(self.path).path)
        if route is not None:
            self._route(route, False)
            return
        self._send(405, b"Method Not Allowed\n", "text/plain; charset=utf-8", False,
                   {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed


def _plain_response(code: int, reason: str, headers: dict[str, str]) -> bytes:
    """A minimal closing response for requests rejected before parsing."""
    body = f"{reason}\n".encode()
    lines = [f"HTTP/1.1 {code} {reason}", "Content-Type: text/plain; charset=utf-8",
             f"Content-Length: {len(body)}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class MetricsServer:
    """An HTTP(S) server for one exporter's registry; see the module docstring."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str = DEFAULT_HOST,
        port: int = 0,
        web_config: WebConfig | None = None,
        connection_timeout: float = 10.0,
        limits: ServerLimits | None = None,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self.registry = registry
        self.routes: dict[str, Route] = dict(routes or {})
        self.web_config = web_config or WebConfig()
        self.limits = limits or ServerLimits(request_timeout=connection_timeout)
        self.max_connections = fit_to_descriptor_limit(self.limits.max_connections)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host.strip("[]"), port))
            listener.listen(socket.SOMAXCONN)  # SYNs beyond it are dropped: a scrape would wait 1 s
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._done: SimpleQueue[tuple[_Conn, bytes, bool]] = SimpleQueue()
        self._conns: set[_Conn] = set()
        # source address -> its connections that are not being rendered, oldest first
        self._idle: dict[str, dict[_Conn, None]] = {}
        self._jobs: SimpleQueue[tuple[_Conn, bytes, bytes | None] | None] = SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._listening = False
        self._accept_paused_until = 0.0
        self._backoff = 0.0
        self._ratelog = RateLimitedLog(log)
        self.evicted_total = 0  # connections closed to make room (read by tests)

    # -- public -------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        scheme = "https" if self.web_config.ssl_context else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"

    def start(self) -> None:
        # Plain threads and a queue rather than concurrent.futures: nothing here
        # needs futures, and that import costs every exporter about 1 MiB.
        self._workers = [threading.Thread(target=self._work, name=f"http-worker-{n}", daemon=True)
                         for n in range(self.limits.workers)]
        for worker in self._workers:
            worker.start()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._selector.register(self._listener, selectors.EVENT_READ, self)
        self._listening = True
        self._thread = threading.Thread(target=self._run, name="http-server", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        for _worker in self._workers:
            self._jobs.put(None)
        self._workers = []
        for conn in list(self._conns):
            self._close(conn)
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- event loop -----------------------------------------------------------
    def _run(self) -> None:
        next_sweep = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if not self._listening and now >= self._accept_paused_until:
                self._selector.register(self._listener, selectors.EVENT_READ, self)
                self._listening = True
            for key, _mask in self._selector.select(_SWEEP_INTERVAL):
                target = key.data
                if target is self:
                    self._accept()
                elif target is None:
                    self._drain_finished()
                elif target.state != _CLOSED:
                    self._service(target)
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + _SWEEP_INTERVAL
                for conn in [c for c in self._conns if c.deadline <= now]:
                    log.debug("connection from %s missed its deadline", conn.ip)
                    self._close(conn)

    def _accept(self) -> None:
        for _ in range(64):  # a bounded batch, so established connections are served too
            try:
                sock, addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                self._pause_accepting(exc)
                return
            self._backoff = 0.0
            self._admit(sock, str(addr[0]))

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of descriptors (or memory): shed connections, or stop polling the listener."""
        if exc.errno in (errno.EMFILE, errno.ENFILE) and self._idle:
            # The descriptor limit is lower than the bound allowed for: learn it,
            # and make room the way a full bound does, so accepting goes on.
            limit = max(8, len(self._conns) - 16)
            if limit < self.max_connections:
                log.warning("out of file descriptors with %d connections open: lowering the "
                            "connection limit from %d to %d", len(self._conns),
                            self.max_connections, limit)
                self.max_connections = limit
            while len(self._conns) >= self.max_connections and self._evict("out of descriptors"):
                pass
            pause = 0.0
        else:
            self._backoff = pause = min(_MAX_BACKOFF, self._backoff * 2 or 0.05)
        self._ratelog.warning(
            "accept", "cannot accept connections: %s; %d open, accepting again in %.2fs",
            exc.strerror or exc, len(self._conns), pause)
        self._selector.unregister(self._listener)
        self._listening = False
        self._accept_paused_until = time.monotonic() + pause

    def _admit(self, sock: socket.socket, ip: str) -> None:
        if len(self._conns) >= self.max_connections and not self._evict(
                f"{len(self._conns)} connections open (limit {self.max_connections})"):
            self._ratelog.warning("full", "every one of %d connections is busy; refusing one from %s",
                                  len(self._conns), ip)
            sock.close()
            return
        sock.setblocking(False)
        context = self.web_config.ssl_context
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if context is not None:
                sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError):
            sock.close()
            return
        conn = _Conn(sock, ip, time.monotonic() + self.limits.request_timeout, context is not None)
        self._conns.add(conn)
        self._idle.setdefault(ip, {})[conn] = None
        self._watch(conn, selectors.EVENT_READ)

    def _evict(self, why: str) -> bool:
        """Close the oldest unfinished connection of the busiest source address."""
        if not self._idle:
            return False
        ip = max(self._idle, key=lambda address: len(self._idle[address]))
        victim = next(iter(self._idle[ip]))
        self._ratelog.warning("evict", "%s: closing the oldest unfinished connection from %s",
                              why, ip)
        self.evicted_total += 1
        self._close(victim)
        return True

    def _watch(self, conn: _Conn, events: int) -> None:
        if conn.events == events:
            return
        if conn.events == 0:
            self._selector.register(conn.sock, events, conn)
        elif events == 0:
            self._selector.unregister(conn.sock)
        else:
            self._selector.modify(conn.sock, events, conn)
        conn.events = events

    def _set_idle(self, conn: _Conn, idle: bool) -> None:
        group = self._idle.get(conn.ip)
        if idle:
            self._idle.setdefault(conn.ip, {})[conn] = None  # newest last
        elif group is not None:
            group.pop(conn, None)
            if not group:
                del self._idle[conn.ip]

    def _close(self, conn: _Conn) -> None:
        if conn.state == _CLOSED:
            return
        if conn.events:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(conn.sock)
            conn.events = 0
        self._set_idle(conn, False)
        self._conns.discard(conn)
        conn.state = _CLOSED
        conn.sock.close()

    def _service(self, conn: _Conn) -> None:
        if conn.state == _HANDSHAKE:
            self._handshake(conn)
        elif conn.state in (_READ, _BODY):
            self._read(conn)
        elif conn.state == _WRITE:
            self._write(conn)
        elif conn.state == _DRAIN:
            self._drain(conn)

    def _handshake(self, conn: _Conn) -> None:
        try:
            conn.sock.do_handshake()  # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE)
            return
        except (OSError, ValueError):
            log.debug("TLS handshake with %s failed", conn.ip, exc_info=True)
            self._close(conn)
            return
        conn.state = _READ
        self._watch(conn, selectors.EVENT_READ)
        self._read(conn)

    def _recv(self, conn: _Conn, limit: int) -> bytes | None:
        """Bytes available now (b"" if none yet), or None when the connection ended."""
        chunks: list[bytes] = []
        size = 0
        try:
            while size < limit:
                chunk = conn.sock.recv(_RECV_BYTES)
                if not chunk:
                    return None if not chunks else b"".join(chunks)
                chunks.append(chunk)
                size += len(chunk)
                if not conn.tls or not conn.sock.pending():  # type: ignore[attr-defined]
                    break
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            pass
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE)
        except OSError:
            return None
        return b"".join(chunks)

    def _read(self, conn: _Conn) -> None:
        limit = self.limits.max_header_bytes + _RECV_BYTES
        if conn.state == _BODY:
            limit = max(1, conn.body_needed - len(conn.inbuf))
        data = self._recv(conn, limit)
        if data is None:
            self._close(conn)
            return
        conn.inbuf += data
        if conn.state == _BODY:
            self._body(conn)
        else:
            self._parse(conn)

    def _body_route(self, head: bytes) -> Route | None:
        """The route this head's body is for, when the route reads bodies."""
        method, _, rest = head.partition(b" ")
        target = rest.partition(b" ")[0].decode("latin-1")
        route = self.routes.get(urlsplit(target).path)
        if route is None or not route.max_body_bytes or method.decode("latin-1") not in route.methods:
            return None
        return route

    def _body(self, conn: _Conn) -> None:
        if len(conn.inbuf) < conn.body_needed:
            return
        body = bytes(conn.inbuf[:conn.body_needed])
        del conn.inbuf[:conn.body_needed]
        self._dispatch(conn, conn.head, body)

    def _dispatch(self, conn: _Conn, head: bytes, body: bytes | None) -> None:
        conn.state = _BUSY
        conn.deadline = float("inf")  # the worker's time is ours, not the client's
        self._set_idle(conn, False)
        self._watch(conn, 0)
        self._jobs.put((conn, head, body))

    def _parse(self, conn: _Conn) -> None:
        buf = conn.inbuf
        while buf[:2] == b"\r\n":  # empty lines between requests are allowed (RFC 9112 2.2)
            del buf[:2]
        limit = self.limits.max_header_bytes
        line_end = buf.find(b"\n", 0, limit)
        if line_end < 0:
            if len(buf) >= limit:
                self._reject(conn, 431, "Request Header Fields Too Large")
            return
        if not _REQUEST_LINE.match(buf[:line_end + 1]):
            self._reject(conn, 400, "Bad Request")
            return
        end, sep = buf.find(b"\r\n\r\n", 0, limit), 4
        if end < 0:
            end, sep = buf.find(b"\n\n", 0, limit), 2
        if end < 0:
            if len(buf) >= limit:
                self._reject(conn, 431, "Request Header Fields Too Large")
            return
        head = bytes(buf[:end + sep])
        del buf[:end + sep]
        route = self._body_route(head)
        if route is not None:
            if _TRANSFER_ENCODING.search(head):
                self._reject(conn, 411, "Length Required")
                return
            found = _CONTENT_LENGTH.search(head)
            raw = found.group(1).strip() if found else b"0"
            if not raw.isdigit() or len(raw) > 12:
                self._reject(conn, 400, "Bad Request")
                return
            length = int(raw)
            if length > route.max_body_bytes:
                self._reject(conn, 413, "Content Too Large")
                return
            conn.head, conn.body_needed, conn.state = head, length, _BODY
            self._body(conn)  # keeps the whole-request deadline from accept
            return
        self._dispatch(conn, head, None)

    def _reject(self, conn: _Conn, code: int, reason: str) -> None:
        log.debug("rejected a request from %s: %d %s", conn.ip, code, reason)
        conn.inbuf.clear()
        self._respond(conn, _plain_response(code, reason, self.web_config.headers), True)

    # -- workers ----------------------------------------------------------------
    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._handle(*job)

    def _handle(self, conn: _Conn, head: bytes, body: bytes | None) -> None:
        """In a worker thread: build the whole response in memory."""
        try:
            handler = _Handler(head, conn.ip, self, body)
            result = (conn, handler.response(), bool(handler.close_connection))
        except Exception:
            log.exception("error while answering %s", conn.ip)
            result = (conn, _plain_response(500, "Internal Server Error", {}), True)
        self._done.put(result)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a wake-up is pending already, or we are closing
            self._wake_w.send(b"\0")

    def _drain_finished(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while True:
            try:
                conn, data, close = self._done.get_nowait()
            except Empty:
                return
            if conn.state == _BUSY:
                self._respond(conn, data, close)

    # -- writing ----------------------------------------------------------------
    def _respond(self, conn: _Conn, data: bytes, close: bool) -> None:
        conn.out = memoryview(data)
        conn.close_after = close
        conn.state = _WRITE
        conn.deadline = time.monotonic() + self.limits.write_timeout
        self._set_idle(conn, False)
        self._write(conn)

    def _write(self, conn: _Conn) -> None:
        try:
            while conn.out:
                sent = conn.sock.send(conn.out[:_SEND_BYTES])
                conn.out = conn.out[sent:]
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
            self._watch(conn, selectors.EVENT_WRITE)
            return
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except OSError:
            self._close(conn)
            return
        now = time.monotonic()
        if conn.close_after:
            # Half-close and discard what the client still sends for a moment:
            # closing with unread data would reset the connection and could
            # destroy the response before the client has read it.
            conn.inbuf.clear()
            if conn.tls:
                self._close(conn)
                return
            try:
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._close(conn)
                return
            conn.state = _DRAIN
            conn.deadline = now + _DRAIN_SECONDS
        else:
            conn.state = _READ
            conn.deadline = now + self.limits.request_timeout
        self._set_idle(conn, True)
        self._watch(conn, selectors.EVENT_READ)
        if conn.state == _READ and conn.inbuf:
            self._parse(conn)  # a pipelined request already arrived

    def _drain(self, conn: _Conn) -> None:
        data = self._recv(conn, _RECV_BYTES)
        if data is None:
            self._close(conn)
            return
        conn.drained += len(data)
        if conn.drained > _DRAIN_BYTES:
            self._close(conn)


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
        log.info("listening on %s (at most %d connections)", server.url, server.max_connections)
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


__all__ = ["DEFAULT_HOST", "MetricsServer", "Request", "Response", "Route", "ServerLimits",
           "fit_to_descriptor_limit", "serve_until_signal"]

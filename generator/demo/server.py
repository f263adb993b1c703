"""One HTTP server in a background thread, started and stopped on demand.

The demo's storefront, payments API and webhook receiver all run inside the demo
process on the standard library's ``ThreadingHTTPServer``; this base class is the
start/stop they share. The socket is bound in :meth:`start`, not before, so a stack
can check its ports are free first, and a stopped server can start again on the
same port (how the payments API "comes back").
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class BackgroundServer:
    """Subclasses build the server in :meth:`_make`, listening on :attr:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port  # 0 until started means "any free port"; then the bound one
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        server = self._make()
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True,
                                        name=f"vigil-demo-{type(self).__name__}")
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call at any time."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

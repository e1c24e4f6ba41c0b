"""What the fake CRM servers of the pull tests share: a threaded HTTP server on 127.0.0.1 at a free
port, started and stopped as a context manager, and a port nothing listens on."""
from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer


class LocalServer:
    """``with Server(...) as srv:`` serves ``handler`` on 127.0.0.1 (``srv.port``) in a daemon thread."""

    def _serve(self, handler) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (an unreachable host)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

"""The ESC/POS emulator as a network printer (raw TCP, port 9100 style), on loopback only.

Network receipt printers take raw ESC/POS on a TCP port and answer DLE EOT on the same
connection; this server lets the ``tcp://HOST:PORT`` printer route be tested end to end.
"""

from __future__ import annotations

import socketserver
import threading

from drivers.printer.emulator import PrinterEmulator


class _Connection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        emulator: PrinterEmulator = self.server.emulator  # type: ignore[attr-defined]
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            reply = emulator.feed(data)
            if reply:
                self.request.sendall(reply)


class TcpPrinterEmulator(socketserver.ThreadingTCPServer):
    """Serves ``emulator`` on 127.0.0.1 (port 0 picks a free one); ``close()`` stops it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: PrinterEmulator, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Connection)
        self.emulator = emulator
        self._thread = threading.Thread(target=self.serve_forever, name="tcp-printer",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The kiosk device URL of this printer, e.g. ``tcp://127.0.0.1:40123``."""
        host, port = self.server_address[:2]
        return f"tcp://{host}:{port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self.shutdown()
        self.server_close()

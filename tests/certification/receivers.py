"""A webhook receiver on 127.0.0.1 for tests: records each request and answers with the
statuses it was given (the last one repeats); it can hang on the first request until
released, as a receiver that never answers."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, answers=(200,), *, hang_first=False):
        self.answers = list(answers)
        self.hang_first = hang_first
        self.requests = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.first_arrived = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mca?source=registry"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    index = len(receiver.requests)
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                receiver.first_arrived.set()
                if receiver.hang_first and index == 0:
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                status = receiver.answers[min(index, len(receiver.answers) - 1)]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def bodies(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def signed_by(self, secret):
        """True when every request carries a valid X-MCA-Signature for `secret`."""
        with self.lock:
            requests = list(self.requests)
        return bool(requests) and all(
            hmac.compare_digest(
                r["headers"].get("X-MCA-Signature", ""),
                "sha256=" + hmac.new(secret.encode(), r["body"], hashlib.sha256).hexdigest(),
            )
            for r in requests
        )

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

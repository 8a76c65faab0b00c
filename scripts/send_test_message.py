"""Send one signed test message to a running service (generic Standard Webhooks platform) and print the
reply it sends back; used after `bash scripts/run.sh`. Usage: send_test_message.py "text" [--name Anna]."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
SECRET_FILE = ROOT / ".data" / "generic-webhook-secret"
replies: list[dict[str, object]] = []


class ReplyReceiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        replies.append({"body": json.loads(body or b"{}"), "signature": self.headers.get("webhook-signature")})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"id": f"reply-{len(replies)}"}).encode())

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("text")
    parser.add_argument("--name", default="Anna")
    parser.add_argument("--url", default="http://127.0.0.1:8000/webhooks/generic")
    parser.add_argument("--receiver-port", type=int, default=8099)
    args = parser.parse_args()
    secret = os.environ.get("CA_PLATFORMS__GENERIC__WEBHOOK_SECRET") or SECRET_FILE.read_text().strip()
    server = ThreadingHTTPServer(("127.0.0.1", args.receiver_port), ReplyReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    message_id = f"msg_{uuid.uuid4().hex}"
    payload = json.dumps(
        {
            "type": "message.created",
            "data": {
                "id": message_id,
                "conversation_id": f"demo-{uuid.uuid4().hex[:8]}",
                "text": args.text,
                "sender": {"id": "demo-user", "name": args.name},
            },
        }
    )
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, payload),
    }
    started = time.perf_counter()
    response = httpx.post(args.url, content=payload.encode(), headers=headers, timeout=10)
    print(f"webhook answered HTTP {response.status_code} in {(time.perf_counter() - started) * 1000:.0f} ms")
    if response.status_code != 200:
        print(response.text)
        return 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not replies:
        time.sleep(0.05)
    if not replies:
        print("no reply within 30 s (escalated to a person, or ignored): see the worker's log")
        return 0
    print(f"reply after {(time.perf_counter() - started) * 1000:.0f} ms:\n{replies[0]['body']['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# A token-authenticating front for a local docker-registry, for the images tests.
#
#   images-registry.py PORT BACKEND_URL STATE_DIR [--user U --password P] [--fail-blobs N]
#
# /token issues bearer tokens (to U:P over Basic auth when given, else to anyone), as
# docker's token authentication spec describes; /v2/... demands such a token (401 with a
# WWW-Authenticate challenge otherwise) and relays to BACKEND_URL. --fail-blobs N answers
# the first N requests of each blob with 503, to exercise retries. Counters go to
# STATE_DIR/stats.json after every request.
import argparse
import base64
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
TOKENS = set()
STATS = {"token_requests": 0, "token_refused": 0, "unauthorized": 0, "injected_503": 0, "relayed": 0}
BLOB_FAILS = {}


def save(state_dir):
    with open(os.path.join(state_dir, "stats.json.tmp"), "w") as f:
        json.dump(STATS, f)
    os.rename(os.path.join(state_dir, "stats.json.tmp"), os.path.join(state_dir, "stats.json"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def token(self):
        opts = self.server.opts
        with LOCK:
            STATS["token_requests"] += 1
        if opts.user:
            want = "Basic " + base64.b64encode(f"{opts.user}:{opts.password}".encode()).decode()
            if self.headers.get("Authorization") != want:
                with LOCK:
                    STATS["token_refused"] += 1
                    save(opts.state)
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                  {"Content-Type": "application/json"})
        tok = secrets.token_hex(16)
        with LOCK:
            TOKENS.add(tok)
            save(opts.state)
        self.reply(200, json.dumps({"token": tok, "expires_in": 300}).encode(),
                   {"Content-Type": "application/json"})

    def registry(self):
        opts = self.server.opts
        auth = self.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:] in TOKENS):
            name = self.path[4:].split("/manifests/")[0].split("/blobs/")[0]
            challenge = (f'Bearer realm="http://127.0.0.1:{opts.port}/token",service="aula-test",'
                         f'scope="repository:{name}:pull"')
            with LOCK:
                STATS["unauthorized"] += 1
                save(opts.state)
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                              {"Content-Type": "application/json", "WWW-Authenticate": challenge})
        if "/blobs/" in self.path and opts.fail_blobs:
            with LOCK:
                n = BLOB_FAILS.get(self.path, 0)
                BLOB_FAILS[self.path] = n + 1
                inject = n < opts.fail_blobs
                if inject:
                    STATS["injected_503"] += 1
                    save(opts.state)
            if inject:
                return self.reply(503, b"try again")
        req = urllib.request.Request(opts.backend + self.path, method=self.command)
        if self.headers.get("Accept"):
            req.add_header("Accept", self.headers["Accept"])
        try:
            with urllib.request.urlopen(req) as r:
                body, status, hdrs = r.read(), r.status, r.headers
        except urllib.error.HTTPError as e:
            body, status, hdrs = e.read(), e.code, e.headers
        out = {k: hdrs[k] for k in ("Content-Type", "Docker-Content-Digest") if hdrs.get(k)}
        with LOCK:
            STATS["relayed"] += 1
            save(opts.state)
        self.reply(status, body, out)

    def do_GET(self):
        if self.path.startswith("/token"):
            return self.token()
        if self.path.startswith("/v2/"):
            return self.registry()
        self.reply(404)

    do_HEAD = do_GET


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("backend")
    p.add_argument("state")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--fail-blobs", type=int, default=0)
    opts = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    srv.opts = opts
    save(opts.state)
    srv.serve_forever()


if __name__ == "__main__":
    main()

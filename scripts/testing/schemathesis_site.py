"""The loopback stand-in web site of scripts/testing/schemathesis.sh: one small HTML page for
every GET path, so any URL the tests send to the scraper is a page it can fetch and extract."""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = b"""<!doctype html><html lang="en"><head><title>Stand-in page</title>
<meta name="description" content="A page served to the schemathesis run."></head>
<body><article><h1>Tracing in practice</h1>
<p>Distributed tracing follows one request through many services. Each service adds spans,
and the spans share one trace id, so the whole path can be read as a single tree.</p>
<p>Sampling keeps the cost low while errors and slow requests stay visible to the people who
run the system every day.</p><a href="/next.html">next</a></article></body></html>"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

"""Schemathesis hooks for scripts/testing/schemathesis.sh.

Every generated `url` in a request body is pointed at the loopback stand-in site (its port in
SKEIN_SITE_PORT), keeping a path derived from the generated text: the scraper then fetches real
pages instead of failing name resolution for made-up hosts, and no request leaves loopback.
Only string values are rewritten, so type errors (a number as `url`) still reach the server.
"""

import hashlib
import os

import schemathesis

SITE = f"http://127.0.0.1:{os.environ['SKEIN_SITE_PORT']}"


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("url"), str):
        digest = hashlib.sha256(body["url"].encode("utf-8", "surrogatepass")).hexdigest()[:12]
        body["url"] = f"{SITE}/page-{digest}.html"

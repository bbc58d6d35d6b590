#!/usr/bin/env python3
"""The controller's web page in a real headless browser (Debian's chromium + chromedriver,
driven through WebDriver by Python selenium), against the real binaries: controller, scraper,
analyzer (target/debug), trace-view with its HTTP API, and the demo site (python http.server on
config/demo-site), all on free loopback ports. No Docker, no network.

Asserts, in order (each failure names the check, saves a screenshot and the page's HTML):
  page         the page loads from the controller; every request in its log shows a W3C
               traceresponse; every form control has a label; text and error colours keep
               4.5:1 contrast; Tab reaches the URL field
  job          a job queued from the page reaches `succeeded`, its live event log (SSE) showing
               scraping, analyzing and storing
  document     the document shows the page's title, language, reading time, readability,
               sentiment, keywords, key phrases and tags
  waterfall    the trace is drawn with spans from controller, scraper and analyzer, and the
               Grafana link names the trace
  map          the service map has the edges controller→scraper and controller→analyzer, none red
  lists        the documents list filters by tag; recent jobs list the succeeded job
  blocked      a blocked URL shows the API's own 403 message and the request's traceresponse
  faults       with analyzer faults on (PUT /admin/faults), a job retries visibly and fails, its
               waterfall has red spans, and the map's controller→analyzer edge turns red
  phone        at 390 px wide the page does not scroll sideways and the form stays usable

Screenshots go to target/browser-artifacts/ (path printed). --update-screenshot also copies the
one that shows everything to e2e/screenshots/page.png (the README's).

Usage: scripts/testing/browser-test.py [--update-screenshot]   (builds the binaries if needed)
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver import ActionChains
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "debug"
ARTIFACTS = ROOT / "target" / "browser-artifacts"
README_SHOT = ROOT / "e2e" / "screenshots" / "page.png"
ADMIN_TOKEN = "browser-test"
GRAFANA = "http://grafana.invalid:3000"
TRACERESPONSE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")
RED = (176, 0, 32)  # --error in page.css
PATIENCE = 45


def is_red(css_colour):
    """`rgb(176, 0, 32)` or `rgba(176, 0, 32, 1)`: the page's error red, opaque."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_colour or "")]
    return tuple(int(n) for n in numbers[:3]) == RED and (len(numbers) < 4 or numbers[3] == 1)


class CheckFailed(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None):
    """(status, parsed JSON or text) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class Stack:
    """The binaries on free loopback ports; stopped with SIGTERM (they flush their spans)."""

    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix="skein-browser-"))
        self.procs = []
        ports = {name: free_port() for name in ("otlp", "traces", "site", "controller", "scraper", "analyzer")}
        self.ports = ports
        self.site = f"http://127.0.0.1:{ports['site']}"
        self.controller = f"http://127.0.0.1:{ports['controller']}"
        self.analyzer = f"http://127.0.0.1:{ports['analyzer']}"
        self.trace_view = f"http://127.0.0.1:{ports['traces']}"

    def start(self, name, argv, env=None):
        log = open(self.work / f"{name}.log", "w")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.procs.append((name, process))

    def wait_ready(self, name, url):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # it answers: up
            except OSError:
                time.sleep(0.2)
        raise CheckFailed(f"{name} did not come up at {url}; see {self.work / (name + '.log')}")

    def up(self):
        p = self.ports
        self.start("trace-view", [str(BIN / "trace-view"), "--listen", f"127.0.0.1:{p['otlp']}",
                                  "--http", f"127.0.0.1:{p['traces']}", "--idle-ms", "500"])
        self.start("demo-site", [sys.executable, "-m", "http.server", str(p["site"]), "--bind", "127.0.0.1",
                                 "--directory", str(ROOT / "config" / "demo-site")])
        common = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{p['otlp']}", "OTEL_BSP_SCHEDULE_DELAY": "200",
                  "LOG_FORMAT": "json", "HOST": "127.0.0.1"}
        self.start("analyzer", [str(BIN / "analyzer")], {**common, "PORT": str(p["analyzer"]), "ADMIN_TOKEN": ADMIN_TOKEN})
        self.start("scraper", [str(BIN / "scraper")], {**common, "PORT": str(p["scraper"]),
                                                       "SCRAPER_ALLOW_HOSTS": "127.0.0.1", "SCRAPER_PEER_HOSTS": "127.0.0.1",
                                                       # The stream starts at the job's current stage: a
                                                       # local scrape is fast enough to be past `scraping`
                                                       # before the page subscribes. Slow it down a little.
                                                       "FAULT_LATENCY_MS": "600"})
        self.wait_ready("analyzer", f"{self.analyzer}/ready")
        self.wait_ready("scraper", f"http://127.0.0.1:{p['scraper']}/ready")
        self.start("controller", [str(BIN / "controller")], {
            **common, "PORT": str(p["controller"]),
            "SCRAPER_URL": f"http://127.0.0.1:{p['scraper']}", "ANALYZER_URL": self.analyzer,
            "DATABASE_URL": f"sqlite://{self.work}/controller.db", "GRAFANA_URL": GRAFANA,
            "TEMPO_URL": self.trace_view, "TRACE_VIEW_URL": self.trace_view,
            "JOB_MAX_ATTEMPTS": "2", "JOB_RETRY_BASE_MS": "300"})
        self.wait_ready("controller", f"{self.controller}/ready")
        self.wait_ready("trace-view", f"{self.trace_view}/api/service-graph")
        self.wait_ready("demo-site", f"{self.site}/index.html")

    def down(self):
        for _, process in reversed(self.procs):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in self.procs:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def log_tails(self):
        out = []
        for name, _ in self.procs:
            lines = (self.work / f"{name}.log").read_text(errors="replace").splitlines()[-8:]
            out.append(f"--- {name}.log\n" + "\n".join(lines))
        return "\n".join(out)


class Page:
    def __init__(self, driver, base):
        self.driver, self.base = driver, base

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css):
        return self.find(css).text

    def until(self, what, condition, timeout=PATIENCE):
        try:
            # Lists are redrawn while polled: an element gone stale means "look again".
            wait = WebDriverWait(self.driver, timeout, poll_frequency=0.25,
                                 ignored_exceptions=[StaleElementReferenceException])
            return wait.until(lambda _: condition())
        except TimeoutException:
            raise CheckFailed(f"timed out after {timeout} s waiting for {what}") from None

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def shot(self, name, full=False):
        path = ARTIFACTS / f"{name}.png"
        if full:
            size = self.driver.get_window_size()
            height = self.js("return document.documentElement.scrollHeight")
            self.driver.set_window_size(size["width"], min(height + 20, 6000))
            self.driver.save_screenshot(str(path))
            self.driver.set_window_size(size["width"], size["height"])
        else:
            self.driver.save_screenshot(str(path))
        return path

    def submit(self, url, button):
        field = self.find("#url")
        field.clear()
        field.send_keys(url)
        self.find(button).click()

    def fact(self, term):
        """The <dd> after the document's <dt> named `term`."""
        return self.js("""
            const dt = [...document.querySelectorAll('#document dt')].find(d => d.textContent === arguments[0]);
            return dt ? dt.nextElementSibling.textContent : null;""", term)

    def edge(self, client, server):
        """The map's edge as {failed, stroke}, or None."""
        return self.js("""
            const row = document.querySelector(`#edges tr[data-client="${arguments[0]}"][data-server="${arguments[1]}"]`);
            const path = document.querySelector(`#map g.edge[data-client="${arguments[0]}"][data-server="${arguments[1]}"] path`);
            if (!row || !path) return null;
            return {failed: Number(row.dataset.failed), stroke: getComputedStyle(path).stroke};""", client, server)


def check(name, condition, detail=""):
    if not condition:
        raise CheckFailed(f"{name}: {detail}")


def contrast(page, css):
    """The WCAG contrast ratio of an element's text against its effective background."""
    return page.js("""
        const lum = (rgb) => { const [r, g, b] = rgb.match(/\\d+/g).slice(0, 3).map(Number).map(v => {
            v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        let el = document.querySelector(arguments[0]);
        const fg = getComputedStyle(el).color;
        let bg = 'rgba(0, 0, 0, 0)';
        while (el && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) { bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
        if (bg === 'rgba(0, 0, 0, 0)') bg = 'rgb(255, 255, 255)';
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);""", css)


def run(page, stack, update_screenshot):
    results = []

    def passed(name, what):
        results.append(name)
        print(f"  ok  {name}: {what}")

    # --- page
    page.driver.get(page.base + "/")
    check("page", page.driver.title.startswith("Skein"), page.driver.title)
    page.until("the request log", lambda: len(page.all("#requests li")) >= 3)
    headers = [li.get_attribute("data-traceresponse") for li in page.all("#requests li")]
    check("page", all(TRACERESPONSE.match(h) for h in headers), f"traceresponse values: {headers}")
    unlabelled = page.js("return [...document.querySelectorAll('input, select')].filter(e => e.labels.length === 0).map(e => e.id)")
    check("page", unlabelled == [], f"controls without a label: {unlabelled}")
    page.js("document.getElementById('error').hidden = false; document.getElementById('error').textContent = 'x'")
    for css in ("body", "#url-help", "#error", "#submit-job", "button.secondary"):
        ratio = contrast(page, css)
        check("page", ratio >= 4.5, f"contrast of {css} is {ratio:.2f}:1")
    page.js("document.getElementById('error').hidden = true")
    page.js("document.activeElement.blur()")
    ActionChains(page.driver).send_keys(Keys.TAB).send_keys(Keys.TAB).perform()  # skip link, then the URL
    focused = page.js("return document.activeElement.id")
    check("page", focused == "url", f"Tab twice focused {focused!r}, not the URL field")
    passed("page", f"served at /, {len(headers)} requests with a traceresponse, labels, contrast, keyboard")

    # --- job
    article = f"{stack.site}/tracing-basics.html"
    page.submit(article, "#submit-job")
    page.until("the job to succeed", lambda: page.text("#job-status") in ("succeeded", "failed"))
    events = [li.text for li in page.all("#job-events li")]
    check("job", page.text("#job-status") == "succeeded", f"status {page.text('#job-status')!r}; events {events}")
    for stage in ("scraping", "analyzing", "storing", "succeeded"):
        check("job", any(stage in e for e in events), f"no {stage} event in {events}")
    check("job", page.find("#final-stage").get_attribute("class") == "done", "the final stage is not marked done")
    job_id = page.text("#job-id")
    passed("job", f"job {job_id} succeeded; live events: {len(events)}")

    # --- document
    page.until("the document", lambda: page.fact("Title") is not None)
    title = re.search(r"<title>(.*?)</title>", (ROOT / "config/demo-site/tracing-basics.html").read_text()).group(1)
    check("document", page.fact("Title") == title, f"{page.fact('Title')!r} != {title!r}")
    check("document", "English" in page.fact("Language"), page.fact("Language"))
    check("document", re.match(r"\d+ min \(\d+ words\)", page.fact("Reading time")), page.fact("Reading time"))
    check("document", "Flesch" in page.fact("Readability"), page.fact("Readability"))
    check("document", re.match(r"(positive|neutral|negative) \(-?\d", page.fact("Sentiment")), page.fact("Sentiment"))
    for term in ("Keywords", "Key phrases"):
        check("document", page.fact(term) not in ("", "—"), f"{term}: {page.fact(term)!r}")
    doc_tags = [t.text for t in page.all("#document-tags .tag")]
    check("document", doc_tags, "no tags")
    passed("document", f"{title!r}, tags {doc_tags}")

    # --- waterfall
    def services():
        return set(page.js("return [...document.querySelectorAll('#waterfall tbody tr')].map(r => r.dataset.service)"))
    page.until("spans of controller, scraper and analyzer",
               lambda: {"controller", "scraper", "analyzer"} <= services() and "spans from" in page.text("#trace-note"))
    names = page.js("return [...document.querySelectorAll('#waterfall tbody tr')].map(r => r.cells[1].textContent)")
    for name in ("POST /api/v1/jobs", "POST /v1/scrape", "POST /v1/analyze"):
        check("waterfall", name in names, f"no span {name!r} in {names}")
    trace_id = page.text("#trace-id")
    link = page.find("#grafana-link").get_attribute("href")
    check("waterfall", link.startswith(GRAFANA + "/explore?") and trace_id in link, link)
    passed("waterfall", f"trace {trace_id}: {len(names)} spans from {sorted(services())}")

    # --- map
    page.find("#map-refresh").click()
    page.until("the pipeline's edges on the map",
               lambda: page.edge("controller", "scraper") and page.edge("controller", "analyzer"))
    for callee in ("scraper", "analyzer"):
        edge = page.edge("controller", callee)
        check("map", edge["failed"] == 0 and not is_red(edge["stroke"]), f"controller→{callee} {edge}")
    drawn = len(page.all("#map g.edge"))
    passed("map", f"{drawn} edges drawn, controller→scraper and controller→analyzer not red")

    # --- lists (a second document, scraped synchronously, for the tag filter)
    second = f"{stack.site}/le-tracage.html"
    page.submit(second, "#submit-sync")
    page.until("the second document", lambda: (page.fact("Title") or "").startswith("Le traçage"))
    second_tags = {t.text for t in page.all("#document-tags .tag")}
    only_first = [t for t in doc_tags if t not in second_tags]
    check("lists", only_first, f"no tag of the first document that the second lacks: {doc_tags} / {second_tags}")
    page.until("two documents listed", lambda: len(page.all("#documents li[data-id]")) == 2)
    page.until("the tag filter", lambda: any(o.get_attribute("value") == only_first[0] for o in page.all("#tag-filter option")))
    Select(page.find("#tag-filter")).select_by_value(only_first[0])
    page.until("the filtered list", lambda: len(page.all("#documents li[data-id]")) == 1)
    listed = page.text("#documents li[data-id] strong")
    check("lists", listed == title, f"tag {only_first[0]!r} lists {listed!r}")
    page.find("#jobs-refresh").click()
    page.until("the succeeded job in recent jobs",
               lambda: any(article in r.text for r in page.all("#jobs tbody tr[data-status=succeeded]")))
    passed("lists", f"tag {only_first[0]!r} lists only {listed!r}; recent jobs show the succeeded job")

    # --- blocked
    blocked = "http://169.254.169.254/latest/meta-data/"
    status, body = http("POST", f"{stack.controller}/api/v1/scrape", {"url": blocked})
    check("blocked", status == 403, f"the API answered {status}: {body}")
    page.submit(blocked, "#submit-sync")
    page.until("the error message", lambda: page.find("#error").is_displayed())
    shown = page.text("#error")
    check("blocked", shown == body["error"]["message"], f"{shown!r} != {body['error']['message']!r}")
    entry = page.all("#requests li")[0]
    check("blocked", "POST /api/v1/scrape → 403" in entry.text and TRACERESPONSE.match(entry.get_attribute("data-traceresponse")),
          entry.text)
    page.shot("blocked")
    passed("blocked", f"403 shown as the API's message: {shown!r}")

    # --- faults
    status, body = http("PUT", f"{stack.analyzer}/admin/faults", {"error_rate": 1.0},
                        {"authorization": f"Bearer {ADMIN_TOKEN}"})
    check("faults", status == 200, f"PUT /admin/faults answered {status}: {body}")
    try:
        page.submit(f"{stack.site}/outage-report.html", "#submit-job")
        page.until("the faulted job to fail", lambda: page.text("#job-status") == "failed")
        events = [li.text for li in page.all("#job-events li")]
        check("faults", any("retry scheduled" in e for e in events), f"no visible retry in {events}")
        check("faults", page.find("#final-stage").get_attribute("class") == "failed", "final stage not marked failed")
        page.until("red spans in the waterfall", lambda: page.all("#waterfall tbody tr[data-status=error]"))
        red_row = page.find("#waterfall tbody tr[data-status=error] td.status-error")
        colour = red_row.value_of_css_property("color")
        check("faults", is_red(colour), f"an error span is {colour}, not red")

        def red_edge():
            page.find("#map-refresh").click()
            edge = page.edge("controller", "analyzer")
            return edge if edge and edge["failed"] > 0 and is_red(edge["stroke"]) else None
        edge = page.until("a red controller→analyzer edge", red_edge)
        page.shot("faults")
        page.find("#map").screenshot(str(ARTIFACTS / "map.png"))
        passed("faults", f"job retried and failed; error spans red; controller→analyzer {edge}")

        # The README's picture: a good document and its trace, with the red edge on the map.
        Select(page.find("#tag-filter")).select_by_value("")
        page.until("the documents", lambda: len(page.all("#documents li[data-id]")) == 2)
        first = [li for li in page.all("#documents li[data-id]") if title in li.text][0]
        first.find_element(By.TAG_NAME, "button").click()
        page.until("the first trace again", lambda: page.text("#trace-id") == trace_id and "spans from" in page.text("#trace-note"))
        page.js("window.scrollTo(0, 0)")
        full = page.shot("page", full=True)
    finally:
        http("PUT", f"{stack.analyzer}/admin/faults", {"error_rate": 0.0}, {"authorization": f"Bearer {ADMIN_TOKEN}"})

    # --- phone
    page.driver.set_window_size(390, 844)
    page.driver.get(page.base + "/")
    page.until("the page at phone width", lambda: len(page.all("#requests li")) >= 3)
    sideways = page.js("return document.documentElement.scrollWidth - window.innerWidth")
    check("phone", sideways <= 0, f"the page scrolls {sideways} px sideways at 390 px")
    width = page.find("#url").size["width"]
    check("phone", width >= 300, f"the URL field is {width} px wide")
    page.submit(blocked, "#submit-sync")
    page.until("the error at phone width", lambda: page.find("#error").is_displayed())
    page.shot("phone")
    passed("phone", f"no sideways scroll; URL field {width} px; errors shown")

    if update_screenshot:
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(full, README_SHOT)
        print(f"README screenshot updated: {README_SHOT.relative_to(ROOT)}")
    return results


def main():
    update_screenshot = "--update-screenshot" in sys.argv[1:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in list(ARTIFACTS.glob("*.png")) + list(ARTIFACTS.glob("*.html")):
        old.unlink()
    # The same build as compose-smoke.sh's (same features), so after it in scripts/test.sh this
    # costs a second.
    subprocess.run(["cargo", "build", "--locked", "--quiet", "--workspace", "--all-features", "--bins"],
                   cwd=ROOT, check=True)
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        raise SystemExit("browser-test: chromium and chromedriver are needed (scripts/install-test-deps.sh)")
    stack = Stack()
    driver = None
    try:
        stack.up()
        options = Options()
        options.binary_location = chromium
        for arg in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1400",
                    "--lang=en-GB"):
            options.add_argument(arg)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # chromium refuses to run as root with its sandbox
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
        page = Page(driver, stack.controller)
        print(f"browser-test: {driver.capabilities.get('browserVersion', '?')} against {stack.controller}")
        results = run(page, stack, update_screenshot)
        print(f"browser-test: {len(results)} checks passed; screenshots in {ARTIFACTS}")
    except CheckFailed as e:
        print(f"browser-test: FAILED: {e}", file=sys.stderr)
        if driver:
            driver.save_screenshot(str(ARTIFACTS / "failure.png"))
            (ARTIFACTS / "failure.html").write_text(driver.page_source)
            print(f"browser-test: failure screenshot and HTML in {ARTIFACTS}", file=sys.stderr)
        print(stack.log_tails(), file=sys.stderr)
        sys.exit(1)
    finally:
        if driver:
            driver.quit()
        stack.down()
        shutil.rmtree(stack.work, ignore_errors=True)


if __name__ == "__main__":
    main()

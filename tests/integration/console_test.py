"""The web console (plugins/transport/http/console, served under /ui/) end to
end: a real broker with Kafka and HTTP listeners, headless Chromium through
Debian's chromedriver and python3-selenium (scripts/install-deps.sh installs
them; nothing is fetched at run time).

- /ui/ serves every console file with its Content-Type, an ETag (304 when
  it matches) and no-cache; / redirects to /ui/; an unknown file is a 404
  JSON error.
- GET /plugins, GET .../segments, GET /groups/{g} and POST
  /groups/{g}/offsets/reset (earliest, latest, a time, an offset; bad
  bodies refused, nothing committed) straight over HTTP.
- Every page is visited; the browser console must hold no SEVERE entry but
  the ones a step provokes on purpose (an API refusal the page shows).
- A record produced through the form shows up in the message browser (JSON
  pretty-printed, headers), and one produced meanwhile in follow mode.
- A kafka-python consumer joins a group: the group page shows it as a
  member, and a reset from the UI is refused (409 group_has_members, shown);
  after it commits and closes and more records arrive, the page shows the
  lag; a reset to earliest from the UI is then committed (checked with GET
  /groups/{g}/offsets).
- A compacted topic made with the create form has cleanup.policy=compact
  (GET /topics/{t}); creating it again shows topic_exists in the banner.
- Partitions added and a topic deleted from the topic page.
- With HTTP Basic authentication the files need a user (401 otherwise), and
  the browser's credentials for the origin cover the console's API calls.
- Scale: KEEL_CONSOLE_TOPICS topics (default 1000) of KEEL_CONSOLE_PARTITIONS
  partitions (default 10: 10,000 partitions): the list renders page 1 and
  its sizes, search finds one, paging works; a topic of 250 partitions shows
  them 100 to a page. The many topics keep no index (`"index": []`), so that
  each partition holds one open file: with the default two indexes 10,000
  partitions need 30,000, over the 20,000 this test machine allows a
  process, and root may not raise that limit in its container.
- A screenshot of each page goes to the test's temp dir and, when
  KEEL_CONSOLE_SCREENSHOTS=<dir> is set, there too (docs/console/ holds
  some made that way).
"""
import base64
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_auth_test import add_user  # noqa: E402
from http_test import call, ok  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

try:
    import selenium  # noqa: F401
except ImportError:  # Debian's python3-selenium lives outside pyenv's path
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaConsumer  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CONTENT_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
WAIT = 20  # seconds for any page condition
# A compacted topic whose small segments the compaction strategy rewrites
# soon after they close (the overview's log rewrite panel).
LEDGER_TOML = ('[topics.ledger]\npartitions = 1\nsegment_bytes = 4096\nretention = ["compaction"]\n'
               "[topics.ledger.plugins.compaction]\nmin_cleanable_dirty_ratio = 0.0\n")


def raw_get(broker, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_assets(broker, source_dir):
    status, headers, _ = raw_get(broker, "/")
    assert status == 302 and headers.get("Location") == "/ui/", (status, headers)
    console = os.path.join(source_dir, "plugins", "transport", "http", "console")
    files = ["vendor/chart.min.js"]
    for root, _, names in os.walk(console):
        files += [os.path.relpath(os.path.join(root, n), console) for n in names]
    for f in sorted(files):
        status, headers, body = raw_get(broker, "/ui/" + f)
        want = CONTENT_TYPES[os.path.splitext(f)[1]]
        assert status == 200, f"/ui/{f}: {status}"
        assert headers["Content-Type"].startswith(want), f"/ui/{f}: {headers['Content-Type']}, expected {want}"
        assert headers.get("Cache-Control") == "no-cache" and headers.get("ETag"), headers
        if f != "vendor/chart.min.js":
            with open(os.path.join(console, f), "rb") as src:
                assert body == src.read(), f"/ui/{f} differs from its source"
        else:
            assert b"Chart.js v3" in body[:200], body[:200]
        status, again, body = raw_get(broker, "/ui/" + f, {"If-None-Match": headers["ETag"]})
        assert status == 304 and body == b"", (f, status)
    # The index refers to every script and stylesheet it needs, all served.
    _, _, index = raw_get(broker, "/ui/")
    for ref in re.findall(r'(?:src|href)="(/ui/[^"]+)"', index.decode()):
        assert raw_get(broker, ref)[0] == 200, ref
    status, _, body = raw_get(broker, "/ui/nope.js")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found", (status, body)
    assert raw_get(broker, "/ui/../metrics")[0] == 404
    assert call(broker, "POST", "/ui/", {})[0] == 405
    print(f"  {len(files)} console files served with their types, ETag and 304; / redirects; unknown 404")


def test_endpoints(broker):
    """The endpoints the console added, straight over HTTP."""
    plugins = ok(broker, "GET", "/plugins")
    assert plugins["abi"]["major"] == 2 and plugins["operator_views"], plugins
    kinds = {(s["kind"], s["name"]) for s in plugins["strategies"]}
    assert {("index", "sparse-mmap"), ("retention", "time"), ("partitioner", "key-hash")} <= kinds, kinds
    assert all(s["path"].endswith(".so") and s["version"] for s in plugins["strategies"]), plugins
    ok(broker, "POST", "/topics", {"name": "ends", "partitions": 2}, expect=201)
    ok(broker, "POST", "/topics/ends/records", {"records": [
        {"value": f"r{i}", "partition": 0, "timestamp": 1000 * (i + 1)} for i in range(6)]})
    seg = ok(broker, "GET", "/topics/ends/partitions/0/segments")["segments"]
    assert len(seg) == 1 and seg[0]["active"] and (seg[0]["base_offset"], seg[0]["next_offset"]) == (0, 6), seg
    assert seg[0]["size_bytes"] > 0 and seg[0]["max_timestamp"] == 6000, seg
    assert call(broker, "GET", "/topics/ends/partitions/7/segments")[0] == 404
    assert call(broker, "GET", "/topics/nope/partitions/0/segments")[1]["error"]["code"] == "unknown_topic"
    assert call(broker, "GET", "/groups/nobody")[1]["error"]["code"] == "unknown_group"

    def reset(body, expect=200):
        return ok(broker, "POST", "/groups/resetter/offsets/reset", body, expect=expect)

    def committed():
        return {o["partition"]: o["offset"] for o in ok(broker, "GET", "/groups/resetter/offsets")["offsets"]}
    assert reset({"topic": "ends", "to": "latest"})["offsets"] == [
        {"topic": "ends", "partition": 0, "offset": 6, "metadata": ""},
        {"topic": "ends", "partition": 1, "offset": 0, "metadata": ""}]
    assert committed() == {0: 6, 1: 0}
    group = ok(broker, "GET", "/groups/resetter")
    assert group["state"] == "Empty" and group["members"] == [], group
    reset({"topic": "ends", "partitions": [0], "to": "timestamp", "timestamp": 3500})
    assert committed() == {0: 3, 1: 0}  # the first record at or after 3500 is offset 3
    reset({"topic": "ends", "partitions": [0], "to": "timestamp", "timestamp": 99999})
    assert committed() == {0: 6, 1: 0}  # none that late: the high watermark
    reset({"topic": "ends", "partitions": [0], "to": "offset", "offset": 100})
    assert committed()[0] == 6  # clamped to the high watermark
    reset({"topic": "ends", "partitions": [0, 0], "to": "earliest"})
    assert committed() == {0: 0, 1: 0}
    for body, words in (({"to": "earliest"}, "topic"), ({"topic": "ends"}, "\"to\""),
                        ({"topic": "ends", "to": "middle"}, "earliest"),
                        ({"topic": "ends", "to": "timestamp"}, "timestamp"),
                        ({"topic": "ends", "to": "earliest", "partitions": []}, "partitions"),
                        ({"topic": "ends", "to": "earliest", "extra": 1}, "unknown field")):
        status, value, _ = call(broker, "POST", "/groups/resetter/offsets/reset", body)
        assert status == 400 and words in value["error"]["message"], (body, status, value)
    status, value, _ = call(broker, "POST", "/groups/resetter/offsets/reset",
                            {"topic": "ends", "to": "earliest", "partitions": [5]})
    assert status == 404, (status, value)
    assert committed() == {0: 0, 1: 0}  # nothing committed by a refused reset
    print("  /plugins, segments, GET /groups/{g}, offset resets: ok")


class Console:
    """Headless Chromium on the console, with helpers to wait and check."""

    def __init__(self, broker, workdir):
        self.broker = broker
        self.shots = os.path.join(workdir, "screenshots")
        os.makedirs(self.shots, exist_ok=True)
        self.extra_shots = os.environ.get("KEEL_CONSOLE_SCREENSHOTS")
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--window-size=1400,1000", f"--user-data-dir={os.path.join(workdir, 'chromium')}"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.driver.set_page_load_timeout(WAIT)

    def close(self):
        self.driver.quit()

    def open(self, hash_path):
        url = f"{self.broker.http_url}/ui/#{hash_path}"
        if self.driver.current_url.startswith(f"{self.broker.http_url}/ui/"):
            # The same hash fires no hashchange: render the page afresh.
            self.driver.execute_script(
                "if (location.hash === '#' + arguments[0]) Keel.reload(); else location.hash = arguments[0]",
                hash_path)
        else:
            self.driver.get(url)
        self.wait(lambda d: d.execute_script("return location.hash") == f"#{hash_path}", f"page {hash_path}")

    def wait(self, condition, what, timeout=WAIT):
        try:
            return WebDriverWait(self.driver, timeout).until(condition)
        except Exception as e:
            raise AssertionError(f"timed out waiting for {what}; banner: {self.banner_text()!r}") from e

    def find(self, css, timeout=WAIT):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), css, timeout)

    def text_in(self, css, pattern, timeout=WAIT):
        """Waits until the element's text matches `pattern` (a regex)."""
        def check(d):
            els = d.find_elements(By.CSS_SELECTOR, css)
            return els and re.search(pattern, els[0].text) and els[0]
        return self.wait(check, f"{css} to match {pattern!r}", timeout)

    def banner_text(self):
        try:
            return self.driver.find_element(By.ID, "banner").text
        except Exception:
            return ""

    def banner_code(self, code):
        return self.find(f'#banner .error[data-code="{code}"]')

    def fill(self, css, text):
        el = self.find(css)
        el.clear()
        el.send_keys(text)
        return el

    def shot(self, name):
        path = os.path.join(self.shots, f"{name}.png")
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(path)
        if self.extra_shots:
            os.makedirs(self.extra_shots, exist_ok=True)
            shutil.copy(path, self.extra_shots)

    def check_log(self, allowed=()):
        """Fails on a SEVERE browser log entry unless it matches one of
        `allowed` (regexes): Chrome logs each 4xx/5xx answer to fetch() as
        SEVERE, so a step that provokes a refusal on purpose names it."""
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            if not any(re.search(a, entry["message"]) for a in allowed):
                raise AssertionError(f"browser console error: {entry['message']}")


def test_overview(ui, broker):
    ui.open("/")
    ui.text_in("#health", "ok")
    ui.text_in("#ready", "ready")
    ui.text_in("#topic-count", r"\d")
    ui.find("#plugins tbody tr")
    ui.find("#disk")
    # The charts have points once /metrics was read twice.
    ui.wait(lambda d: d.execute_script(
        "return Object.values(Chart.instances).every((c) => c.data.labels.length >= 2)"), "chart points")
    ui.check_log()


def test_produce_and_browse(ui, broker):
    ui.open("/topics/orders/produce")
    ui.fill("#key", "order-1")
    ui.fill("#value", '{"item": "keel", "qty": 2}')
    ui.fill("#headers", "source: console")
    Select(ui.find("#produce-partition")).select_by_value("1")
    ui.find("#send").click()
    offset = int(ui.find("#produced-offset").text)
    assert ui.find("#produced-partition").text == "1"
    ui.shot("produce")
    ui.find("#produce-result a").click()
    row = ui.find(f'#records tr[data-offset="{offset}"]')
    assert '{"item": "keel", "qty": 2}' in row.text and "source" in row.text, row.text
    Select(ui.find("#format")).select_by_value("json")
    ui.text_in(f'#records tr[data-offset="{offset}"] td.value', r'"qty": 2')
    Select(ui.find("#format")).select_by_value("hex")
    ui.text_in(f'#records tr[data-offset="{offset}"] td.key', r"6f 72 64 65 72")  # "order"
    Select(ui.find("#format")).select_by_value("json")
    # Follow mode: a record produced meanwhile appears.
    ui.find("#follow").click()
    ui.text_in("#browse-status", "following")
    ok(broker, "POST", "/topics/orders/records", {"records": [{"value": "followed", "partition": 1}]})
    ui.text_in("#records", "followed")
    ui.shot("messages")
    ui.find("#follow").click()
    ui.check_log()


def test_topics(ui, broker):
    ui.open("/topics")
    ui.find("#topics")
    ui.text_in("#topics", "orders")
    ui.open("/topics/orders")
    ui.find("#partitions")
    ui.text_in("#configs", "cleanup.policy")
    ui.find('button[data-segments="1"]').click()
    ui.find('table.segments[data-partition="1"] tbody tr')
    ui.shot("topic")
    # Add partitions, then delete a topic (after the confirm).
    ok(broker, "POST", "/topics", {"name": "doomed", "partitions": 1}, expect=201)
    ui.open("/topics/doomed")
    ui.fill("#partition-count-input", "3")
    ui.find("#add-partitions button").click()
    wait_until(lambda: ok(broker, "GET", "/topics/doomed")["partition_count"] == 3, 10, "3 partitions")
    ui.text_in("#partitions", r"\b2\b")
    ui.find("#delete-topic").click()
    ui.wait(EC.alert_is_present(), "the delete confirmation")
    ui.driver.switch_to.alert.accept()
    ui.wait(lambda d: d.execute_script("return location.hash") == "#/topics", "back to the list")
    assert call(broker, "GET", "/topics/doomed")[0] == 404
    ui.check_log()


def test_groups(ui, broker):
    ok(broker, "POST", "/topics/orders/records", {"records": [{"value": f"v{i}"} for i in range(10)]})
    consumer = KafkaConsumer("orders", bootstrap_servers=broker.bootstrap, group_id="console-group",
                             enable_auto_commit=False, auto_offset_reset="earliest", client_id="console-test")
    # Before the first commit the group has members and no lag (a 404 the page shows as a state).
    no_lag_yet = r"/groups/console-group/lag .*404"
    refused = r"/groups/console-group/offsets/reset .*409"
    try:
        hw = {p["partition"]: p["high_watermark"] for p in ok(broker, "GET", "/topics/orders")["partitions"]}

        def caught_up():
            consumer.poll(timeout_ms=200)
            mine = consumer.assignment()
            return len(mine) == len(hw) and all(consumer.position(tp) >= hw[tp.partition] for tp in mine)
        wait_until(caught_up, 30, "the consumer to read every record")
        ui.open("/groups/console-group")
        ui.text_in("#group-state", "Stable")
        ui.text_in("#members", "console-test")
        ui.shot("group-live")
        # A reset while the consumer is a member: the broker's refusal shown.
        Select(ui.find("#reset-topic")).select_by_value("orders")
        ui.find("#reset-submit").click()
        ui.banner_code("group_has_members")
        ui.check_log(allowed=[no_lag_yet, refused])
        consumer.commit()
    finally:
        consumer.close()
    # Empty now; more records make lag.
    wait_until(lambda: ok(broker, "GET", "/groups/console-group")["state"] == "Empty", 30, "the group to empty")
    ok(broker, "POST", "/topics/orders/records", {"records": [{"value": f"late{i}"} for i in range(5)]})
    lag = ok(broker, "GET", "/groups/console-group/lag")["total_lag"]
    assert lag >= 5, lag
    ui.open("/groups")
    ui.find('#groups a[href="#/groups/console-group"]').click()
    ui.text_in("#group-state", "Empty")
    ui.text_in("#total-lag", f"^{lag:,}$")
    ui.find("#lag-table")
    ui.shot("group")
    Select(ui.find("#reset-topic")).select_by_value("orders")
    Select(ui.find("#reset-to")).select_by_value("earliest")
    ui.find("#reset-submit").click()
    ui.find("#reset-offsets")
    offsets = ok(broker, "GET", "/groups/console-group/offsets")["offsets"]
    starts = {p["partition"]: p["log_start_offset"] for p in ok(broker, "GET", "/topics/orders")["partitions"]}
    assert {o["partition"]: o["offset"] for o in offsets} == starts, (offsets, starts)
    ui.wait(lambda d: d.find_element(By.ID, "total-lag").text != f"{lag:,}", "the lag after the reset")
    ui.check_log(allowed=[no_lag_yet, refused])


def test_create_topic(ui, broker):
    ui.open("/create-topic")
    ui.fill("#topic-name", "compacted")
    ui.fill("#topic-partitions", "2")
    Select(ui.find("#cleanup-policy")).select_by_value("compact")
    ui.fill("#retention-ms", "3600000")
    ui.find("#create").click()
    ui.text_in("#created-topic", "compacted")
    ui.shot("create-topic")
    t = ok(broker, "GET", "/topics/compacted")
    assert t["configs"]["cleanup.policy"] == "compact" and t["settings"]["retention"] == ["compaction"], t
    assert t["partition_count"] == 2, t
    # The same again: the broker's refusal is shown.
    ui.find("#create").click()
    err = ui.banner_code("topic_exists")
    assert "compacted" in err.text, err.text
    assert ui.driver.find_element(By.ID, "create-result").text == "", "the earlier success is still shown"
    ui.shot("error")
    ui.check_log(allowed=[r"/topics .*409"])
    # Keel settings instead of Kafka configs.
    ui.open("/create-topic")
    ui.fill("#topic-name", "keel-settings")
    Select(ui.find("#settings-kind")).select_by_value("settings")
    ui.find("#retention-time").click()
    Select(ui.find("#partitioner")).select_by_value("round-robin")
    ui.fill("#plugin-settings", "time.retention_ms=60000")
    ui.find("#create").click()
    ui.text_in("#created-topic", "keel-settings")
    s = ok(broker, "GET", "/topics/keel-settings")
    assert s["settings"]["retention"] == ["time"] and s["settings"]["partitioner"] == "round-robin", s
    assert s["configs"]["retention.ms"] == "60000", s["configs"]
    ui.check_log()


def create_many(broker, count, partitions):
    def make(i):
        status, body, _ = call(broker, "POST", "/topics", {"name": f"scale-{i:05d}", "partitions": partitions,
                                                           "settings": {"index": []}})
        assert status == 201, body
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(count)))


def sizes_shown(driver):
    return all(td.text not in ("…", "error") for td in driver.find_elements(By.CSS_SELECTOR, "#topics td.size"))


def test_scale(ui, broker):
    count = int(os.environ.get("KEEL_CONSOLE_TOPICS", "1000"))
    partitions = int(os.environ.get("KEEL_CONSOLE_PARTITIONS", "10"))
    started = time.monotonic()
    create_many(broker, count, partitions)
    made = time.monotonic() - started
    started = time.monotonic()
    ui.open("/topics")
    total = len(ok(broker, "GET", "/topics")["topics"])
    assert total >= count, total
    ui.text_in("#topic-summary", f"^{total:,} of {total:,} topics")
    rendered = time.monotonic() - started
    ui.wait(sizes_shown, "the sizes of page 1")
    pages = int(re.search(r"of (\d+)", ui.find("#page-info").text).group(1))
    assert pages >= 2, pages
    ui.find("#next-page").click()
    ui.text_in("#page-info", "^Page 2 of")
    ui.wait(sizes_shown, "the sizes of page 2")
    ui.shot("topics")
    name = f"scale-{count // 2:05d}"
    ui.fill("#topic-search", name)
    ui.text_in("#topic-summary", "^1 of")
    ui.text_in("#topics", name)
    ui.text_in("#page-info", "^Page 1 of 1$")
    ui.check_log()
    print(f"  {count} topics of {partitions} partition(s) made in {made:.1f}s; the list showed page 1 in "
          f"{rendered:.2f}s; search and paging ok")
    assert rendered < 10, f"the topic list took {rendered:.1f}s"

    # A wide topic: its partitions 100 to a page, with their sizes.
    ok(broker, "POST", "/topics", {"name": "scale-wide", "partitions": 250}, expect=201)
    ui.open("/topics/scale-wide")
    ui.text_in("#partition-page-info", r"^Partitions 0–99, page 1 of 3$")
    ui.find("#partition-next-page").click()
    ui.text_in("#partition-page-info", r"^Partitions 100–199, page 2 of 3$")
    rows = [r for r in ui.driver.find_elements(By.CSS_SELECTOR, "#partitions tbody tr") if r.is_displayed()]
    assert len(rows) == 100, len(rows)
    first = rows[0].find_elements(By.TAG_NAME, "td")
    assert first[0].text == "100" and first[4].text.endswith("in 1 segment"), [td.text for td in first]
    ui.find("#partition-next-page").click()
    ui.text_in("#partition-page-info", r"^Partitions 200–249, page 3 of 3$")
    assert "page=3" in ui.driver.current_url, ui.driver.current_url
    ui.check_log()


def test_overview_with_traffic(ui, broker):
    """The overview once more, with many topics and records flowing: the
    charts show a produce rate and latency computed from /metrics, and the
    log rewrite panel the compaction of `ledger`."""
    stop = threading.Event()

    def produce():
        while not stop.is_set():
            call(broker, "POST", "/topics/orders/records", {"records": [{"value": "x" * 100}] * 20})
            # The same 5 keys again and again: compaction has work.
            call(broker, "POST", "/topics/ledger/records",
                 {"records": [{"key": f"k{i}", "value": "y" * 200} for i in range(5)]})
            call(broker, "GET", "/topics/orders/partitions/0/records?max_records=50")
            stop.wait(0.05)
    worker = threading.Thread(target=produce)
    worker.start()
    try:
        ui.open("/")
        total = len(ok(broker, "GET", "/topics")["topics"])
        ui.text_in("#topic-count", f"^{total:,}$")
        rates = "(c) => c.data.datasets[0].data.filter((v) => v > 0).length"
        ui.wait(lambda d: d.execute_script(
            f"return Object.values(Chart.instances).every((c) => ({rates})(c) >= 4)"),
            "rates and latency in every chart", timeout=40)
        ui.text_in("#rewrites", r"runs_total\s+ledger")
    finally:
        stop.set()
        worker.join()
    ui.shot("overview")
    ui.check_log()


def test_basic_auth(build_dir, workdir):
    """With authentication = "basic" the console's files need a user, as the
    API does; once the browser has the credentials for the origin, the
    console's fetch() calls are authenticated with them."""
    os.makedirs(os.path.join(workdir, "auth"))
    broker = Broker(build_dir, kafka=False, http=True, http_toml='authentication = "basic"',
                    workdir=os.path.join(workdir, "auth"))
    os.makedirs(broker.data_dir, exist_ok=True)
    add_user(build_dir, broker.data_dir, "alice", "alice-secret")
    with broker:
        for path in ("/", "/ui/", "/ui/app.js"):
            status, headers, _ = raw_get(broker, path)
            assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Basic"), (path, status)
        alice = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-secret").decode()}
        assert raw_get(broker, "/ui/", alice)[0] == 200
        ok(broker, "POST", "/topics", {"name": "secret-topic"}, expect=201, headers=alice)
        ui = Console(broker, broker.workdir)
        try:
            # The credentials of the first navigation serve the page's own requests.
            ui.driver.get(f"http://alice:alice-secret@127.0.0.1:{broker.http_port}/ui/#/topics")
            ui.text_in("#topics", "secret-topic")
            ui.check_log()
        finally:
            ui.close()
    print("  basic authentication: files need a user; the browser's credentials cover the API calls")


def main():
    args = parse_args()
    with scratch_dir("keel-console-") as workdir:
        broker = Broker(args.build_dir, kafka=True, http=True, workdir=workdir,
                        broker_toml="auto_create_topics = false\nretention_check_ms = 200",
                        topics_toml="[topics.orders]\npartitions = 3\n" + LEDGER_TOML)
        with broker:
            test_assets(broker, args.source_dir)
            test_endpoints(broker)
            ui = Console(broker, workdir)
            try:
                for case in (test_overview, test_produce_and_browse, test_topics, test_groups, test_create_topic,
                             test_scale):
                    case(ui, broker)
                    print(f"PASS {case.__name__}")
                test_overview_with_traffic(ui, broker)
                print("PASS test_overview_with_traffic")
            finally:
                ui.close()
        test_basic_auth(args.build_dir, workdir)
        print("PASS test_basic_auth")
    print("console_test: all passed")


if __name__ == "__main__":
    main()

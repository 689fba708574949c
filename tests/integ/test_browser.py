# Copyright (c) 2026 The chat authors.
#
# test_browser: the web client in Debian's Chromium, headless, driven by
# chromium-driver through python3-selenium.  Two pages (alice and bob,
# each its own browser profile) chat with each other and with a
# line-mode chat-client (carol), CJK and emoji intact; the login form
# connects, and with a token when the server wants one; the page opened as
# /?user=ID&to=OTHER is connected with its input focused and Enter
# sends; a message sent while bob's page is closed is shown once after
# it reopens, and still once after a reload; the pages survive a server
# restart by reconnecting; a text that looks like HTML is shown as text,
# runs nothing and makes no element; both pages join a room with
# carol and talk there.  The browser console must stay
# free of errors (a CSP violation would be one).  Skips (77) only if
# chromium itself is not installed; CI installs it.

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    print("chromium is not installed (scripts/install-deps installs it)")
    sys.exit(77)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (NoAlertPresentException,  # noqa: E402
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = 20          # seconds for anything the page has to do
browsers = []


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    # Chromium's own traffic (updates, metrics, safe browsing, DNS
    # prefetch) would try the internet this machine lacks, and a burst
    # of refused attempts can get loopback connections refused too: turn
    # it off, and resolve no name at all (the tests use 127.0.0.1).
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-quic", "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions",
              "--disable-domain-reliability", "--no-pings",
              "--disable-client-side-phishing-detection",
              "--disable-features=OptimizationHints,Translate,MediaRouter,"
              "NetworkPrediction,AutofillServerCommunication",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
              "--disable-dev-shm-usage", "--window-size=1000,700",
              "--user-data-dir=" + tempfile.mkdtemp(dir=chatlib.TMP)):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER, log_output=os.path.join(
        chatlib.TMP, "chromedriver%d.log" % len(browsers))), options=o)
    d.set_page_load_timeout(WAIT)
    d.set_script_timeout(WAIT)
    browsers.append(d)
    return d


def until(what, pred, timeout=WAIT):
    """Poll pred() until true (an observable state, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except WebDriverException:
            v = None
        if v:
            return v
        if time.monotonic() > deadline:
            check(False, "timed out waiting for " + what)
            return v
        time.sleep(0.05)


def state(d):
    return d.find_element(By.ID, "status").get_attribute("data-state")


def texts(d, cls):
    """The texts of the open conversation's messages of class in/out."""
    return d.execute_script(
        "return [...document.querySelectorAll('#log .msg.' + arguments[0] +"
        " ' .text')].map(e => e.textContent)", cls)


def out_status(d, text):
    return d.execute_script(
        "for (const li of document.querySelectorAll('#log .msg.out'))"
        "  if (li.querySelector('.text').textContent === arguments[0])"
        "    return li.querySelector('.status').textContent.trim();"
        "return null", text)


def type_line(d, text):
    box = d.find_element(By.ID, "text")
    box.send_keys(text + "\n")


def open_page(d, base, user, to):
    url = "%s/?user=%s&to=%s" % (base, user, to)

    def load():
        # A refused connection is retried: the page must load in time.
        try:
            d.get(url)
        except WebDriverException as e:
            print("loading %s: %s" % (url, str(e).splitlines()[0]))
            return False
        return True
    until("%s's page to load" % user, load)
    until("%s's page to connect" % user, lambda: state(d) == "open")


def console_errors(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def no_alert(d):
    try:
        d.switch_to.alert.text
        return False
    except NoAlertPresentException:
        return True


def run(tmp):
    db = os.path.join(tmp, "store.db")
    s = chatlib.Server("--store", db)
    base = "http://127.0.0.1:%d" % s.port
    a, b = browser(), browser()
    carol = None
    try:
        # The login form: a user id, Enter, connected.
        until("the login page to load", lambda: a.get(base + "/") or True)
        until("the login form", lambda: a.find_element(By.ID, "login-user"))
        a.find_element(By.ID, "login-user").send_keys("alice\n")
        until("the form to connect", lambda: state(a) == "open")
        check(a.find_element(By.ID, "me").text == "alice",
              "signed in as the id typed")
        open_page(a, base, "alice", "bob")
        open_page(b, base, "bob", "alice")
        for d, who in ((a, "alice"), (b, "bob")):
            check(d.execute_script("return document.activeElement.id")
                  == "text", "%s: the input has focus once connected" % who)
            check(d.find_element(By.ID, "peer").text ==
                  ("bob" if who == "alice" else "alice"),
                  "%s: ?to= opened the conversation" % who)

        # Page to page, both ways, with acks.
        hi = "你好 bob 😀 — 🎉"
        type_line(a, hi)
        until("bob to see alice's message", lambda: hi in texts(b, "in"))
        until("alice's ack", lambda: out_status(a, hi) == "delivered")
        back = "hi alice ✓ 👋 日本語"
        type_line(b, back)
        until("alice to see bob's reply", lambda: back in texts(a, "in"))
        until("bob online for alice", lambda: "online" in a.find_element(
            By.ID, "peer-presence").get_attribute("class"))

        # A line-mode chat-client joins in.
        carol = subprocess.Popen(
            [chatlib.CLIENT, "-u", "carol", "-t", "alice", "-s", s.url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(
            l.decode("utf-8", "replace") for l in carol.stdout), daemon=True)
        reader.start()
        s.wait_log(r"user carol connected", WAIT)
        from_carol = "from carol: 한국어 🍣"
        carol.stdin.write((from_carol + "\n").encode())
        carol.stdin.flush()
        until("carol's conversation with an unread count on alice's page",
              lambda: a.execute_script(
                  "const li = document.querySelector("
                  "  '#convs li[data-peer=\"carol\"] .unread');"
                  "return li && li.textContent") == "1")
        a.find_element(By.CSS_SELECTOR, '#convs li[data-peer="carol"]').click()
        until("carol's message on alice's page",
              lambda: from_carol in texts(a, "in"))
        check(a.execute_script(
            "return document.querySelector('#convs li[data-peer=\"carol\"]"
            " .unread').textContent") == "", "opening it clears the count")
        to_carol = "hello carol, ça va? 🙂"
        type_line(a, to_carol)
        until("carol's client to print alice's message",
              lambda: any(l.rstrip("\n").endswith(" alice: " + to_carol)
                          for l in lines))

        # Text that looks like HTML stays text.
        evil = "<img src=x onerror=alert(1)>"
        carol.stdin.write((evil + "\n").encode())
        carol.stdin.flush()
        until("the HTML-looking text on alice's page",
              lambda: evil in texts(a, "in"))
        check(a.execute_script(
            "return document.querySelectorAll('#log img, #log b').length")
            == 0, "no element was made from a message")
        type_line(a, "<b>bold</b> & <script>x()</script>")
        check(no_alert(a), "no script ran on alice's page")

        # Rooms: both pages join #ops from the box that opens a chat,
        # carol joins in line mode; each sees the others' messages.
        for d, who in ((a, "alice"), (b, "bob")):
            d.find_element(By.ID, "open-peer").send_keys("#ops\n")
            until("%s's page to open #ops once joined" % who,
                  lambda d=d: d.find_element(By.ID, "peer").text == "#ops")
        carol.stdin.write(b"/join ops\n")
        carol.stdin.flush()
        s.wait_log(r"user carol joined room 'ops'", WAIT)
        in_room = "carol in the room 🏠"
        carol.stdin.write((in_room + "\n").encode())
        carol.stdin.flush()
        until("alice's page to show carol's room message",
              lambda: in_room in texts(a, "in"))
        check(a.execute_script(
            "return document.querySelector('#log .msg.in .from')"
            ".textContent") == "carol", "the room's message says who wrote")
        until("bob's page too", lambda: in_room in texts(b, "in"))
        to_room = "alice to the room ✓"
        type_line(a, to_room)
        until("bob's page to get alice's room message",
              lambda: to_room in texts(b, "in"))
        until("carol's client to print it with the room",
              lambda: any(l.rstrip("\n").endswith(" #ops alice: " + to_room)
                          for l in lines))
        until("its ack", lambda: out_status(a, to_room) == "delivered")
        check(texts(a, "in").count(in_room) == 1 and
              to_room not in texts(a, "in"),
              "alice's page: carol's once, its own not back (%r)"
              % texts(a, "in"))
        check(a.execute_script(
            "return !!document.querySelector("
            "'#convs li[data-peer=\"#ops\"] .presence.room')"),
              "the room is in the conversation list, as a room")
        carol.stdin.write(b"/to alice\n")
        carol.stdin.flush()
        a.find_element(By.CSS_SELECTOR, '#convs li[data-peer="bob"]').click()
        b.find_element(By.CSS_SELECTOR, '#convs li[data-peer="alice"]').click()

        # Resume: bob's page is closed while alice writes.
        b.get("about:blank")
        until("alice to see bob offline", lambda: "online" not in
              a.find_element(By.ID, "peer-presence").get_attribute("class"))
        away = "while you were away ⏳"
        type_line(a, away)
        until("the message to be queued for bob",
              lambda: out_status(a, away) == "queued")
        open_page(b, base, "bob", "alice")
        until("bob to see the message sent while away",
              lambda: away in texts(b, "in"))
        check(texts(b, "in").count(away) == 1 and
              texts(b, "in").count(hi) == 1,
              "after reopening each message is shown once (%r)"
              % texts(b, "in"))
        b.refresh()
        until("bob's page to reconnect after a reload",
              lambda: state(b) == "open")
        # A marker sent after the reload arrives after any replay would.
        mark = "after the reload"
        type_line(a, mark)
        until("bob to see the marker", lambda: mark in texts(b, "in"))
        got = texts(b, "in")
        check(got.count(away) == 1 and got.count(hi) == 1 and
              got.count(back) == 0,
              "after a reload still once each (%r)" % got)

        # The server restarts; both pages reconnect by themselves.
        check(s.stop() == 0, "server stops cleanly")
        until("alice's page to notice", lambda: state(a) != "open")
        s = chatlib.Server("--store", db, "--port", str(s.port),
                           name="server2")
        until("alice to reconnect", lambda: state(a) == "open", 40)
        until("bob to reconnect", lambda: state(b) == "open", 40)
        again = "after the restart 🔁"
        type_line(a, again)
        until("bob to see the message after the restart",
              lambda: again in texts(b, "in"))
        until("its ack", lambda: out_status(a, again) == "delivered")
        check(texts(b, "in").count(again) == 1 and
              texts(b, "in").count(away) == 1,
              "after the restart each message once (%r)" % texts(b, "in"))

        for d, who in ((a, "alice"), (b, "bob")):
            errs = console_errors(d)
            # A page closed or a server stopped shows as failed
            # WebSocket connections; anything else is a fault.
            bad = [e for e in errs if "WebSocket" not in e["message"]]
            check(bad == [], "%s: no console errors (%r)" % (who, bad))
        carol.stdin.close()
        check(carol.wait(10) == 0, "chat-client exits 0")
        check(s.stop() == 0, "the restarted server stops cleanly")
        check("runtime error:" not in s.log() and
              "AddressSanitizer" not in s.log(), "no sanitizer report")

        # A server that wants tokens: ?token= connects, and leaves the
        # address bar; without one the page keeps trying.
        secret = os.path.join(tmp, "secret")
        with open(secret, "w") as f:
            f.write("0123456789abcdef0123456789abcdef")
        tok = subprocess.run([chatlib.SERVER, "token", "--jwt-secret-file",
                              secret, "-u", "dave"], capture_output=True,
                             text=True).stdout.strip()
        s = chatlib.Server("--jwt-secret-file", secret, name="server3")
        base = "http://127.0.0.1:%d" % s.port
        b.get("%s/?user=erin&to=dave" % base)
        until("a page without a token to be refused",
              lambda: s.wait_log(r"refused: 401", 0.1))
        check(state(b) != "open", "no token, not connected")
        a.get("%s/?user=dave&to=erin&token=%s" % (base, tok))
        until("the page with a token to connect", lambda: state(a) == "open")
        check("token" not in a.current_url,
              "the token left the address bar (%r)" % a.current_url)
        check(s.stop() == 0, "the token server stops cleanly")
    finally:
        for d in browsers:
            try:
                d.quit()
            except Exception:
                pass
        if carol is not None and carol.poll() is None:
            carol.kill()
            carol.wait()
        s.stop()


def main():
    run(chatlib.TMP)
    chatlib.done()


if __name__ == "__main__":
    main()

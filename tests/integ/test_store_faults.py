# Copyright (c) 2026 The chat authors.
#
# test_store_faults: the SQLite store (--store FILE) when things go
# wrong.  A corrupt or foreign file, a directory, a missing or
# read-only directory, a read-only file and a store locked by another
# chat-server stop the start with exit 2 and a message naming the file;
# a disk that fills up (RLIMIT_FSIZE) makes the server refuse messages
# with store_unavailable and stay up, without losing any acked one.

import os
import re
import resource
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json, settle  # noqa: E402
from chatlib import send  # noqa: E402

TMP = chatlib.TMP
ROOT = os.geteuid() == 0
NOBODY = 65534
# The reason for a store that cannot be written, in words.
PERM = r"read-only|readonly|permission|denied|not writable"


# ---- helpers ----

def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def start_fails(store, *args, preexec=None, timeout=10):
    """Run chat-server --store STORE expecting it not to start:
    (exit status or None if it was still running, output, seconds)."""
    cmd = [chatlib.SERVER, "--listen", "127.0.0.1", "--port", "0",
           "--store", store] + list(args)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=preexec)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = None
    text = (out + err).decode("utf-8", "replace")
    return rc, err.decode("utf-8", "replace"), text, time.monotonic() - t0


def expect_refusal(what, store, words, *args, preexec=None, name=None):
    """Exit 2 within 5 s, stderr naming the file and matching words."""
    rc, err, text, took = start_fails(store, *args, preexec=preexec)
    named = store in err or os.path.basename(store) in err
    check(rc == 2, "%s: exit 2 (got %r): %r" % (what, rc, text[-500:]))
    check(took < 5, "%s: quickly (%.1f s)" % (what, took))
    check(named, "%s: stderr names the file %s: %r" % (what, store, err))
    check(re.search(words, err, re.I) is not None,
          "%s: stderr says /%s/: %r" % (what, words, err))
    print("%s: %s" % (what, err.strip().splitlines()[-1] if err.strip()
                      else "(no stderr)"))
    return rc, err


async def roundtrip(s, tag):
    """A queued message and its delivery: the store works."""
    c = await connect(s, "rt-c")
    await send(c, {"message": tag, "target_user": "rt-" + tag, "id": tag})
    ack = await recv_json(c)
    w = await connect(s, "rt-" + tag)
    got = await settle(w)
    await w.close()
    await c.close()
    return ack.get("status") == "queued" and \
        [m.get("message") for m in got] == [tag]


# ---- start errors ----

async def test_bad_files():
    # Random bytes.
    f = os.path.join(TMP, "random.db")
    with open(f, "wb") as fp:
        fp.write(os.urandom(16384))
    expect_refusal("random bytes", f, r"database|corrupt")
    # A text file.
    f = os.path.join(TMP, "text.db")
    with open(f, "w") as fp:
        fp.write("this is not a database, just some text\n" * 200)
    expect_refusal("text file", f, r"database|corrupt")
    # A real store with its header overwritten.
    f = os.path.join(TMP, "header.db")
    with chatlib.Server("--store", f, name="header-make") as s:
        check(await roundtrip(s, "h"), "header.db: the store works")
    with open(f, "r+b") as fp:
        fp.write(b"NOT SQLITE AT ALL" * 6)
    expect_refusal("clobbered header", f, r"database|corrupt")
    check(os.path.getsize(f) > 100, "the refused file is left alone")
    # A directory.
    d = os.path.join(TMP, "adir.db")
    os.mkdir(d)
    rc, err, text, took = start_fails(d)
    check(rc == 2 and took < 5, "a directory as the store: exit 2 (%r): "
          "%r" % (rc, text[-300:]))
    check(d in err or "adir.db" in err, "... naming it: %r" % err)
    # A missing directory.
    f = os.path.join(TMP, "no-such-dir", "store.db")
    rc, err, text, took = start_fails(f)
    check(rc == 2 and took < 5, "store in a missing directory: exit 2 "
          "(%r): %r" % (rc, text[-300:]))
    check("store.db" in err, "... naming it: %r" % err)
    # A zero-byte file is an empty database: the server starts on it.
    f = os.path.join(TMP, "empty.db")
    open(f, "wb").close()
    try:
        with chatlib.Server("--store", f, name="empty") as s:
            check(await roundtrip(s, "e"), "a zero-byte file is used as an "
                  "empty store")
    except RuntimeError as e:
        check(False, "a zero-byte store file: server did not start: %s"
              % str(e)[-300:])
    # Another program's SQLite database (informational: refuse with
    # exit 2, or add the tables and work; never crash).
    f = os.path.join(TMP, "foreign.db")
    db = sqlite3.connect(f)
    db.execute("create table messages (x text)")
    db.execute("insert into messages values ('foreign')")
    db.commit()
    db.close()
    rc, err, text, took = start_fails(f, timeout=3)
    check(rc is None or rc == 2, "a foreign SQLite file: exit 2 or runs "
          "(got %r): %r" % (rc, text[-300:]))
    print("foreign SQLite database: %s" % ("refused: " + err.strip()
                                           if rc == 2 else "accepted"))
    # Garbage after a valid first page (header intact).
    f = os.path.join(TMP, "pages.db")
    with chatlib.Server("--store", f, name="pages-make") as s:
        c = await connect(s, "pg")
        for i in range(200):
            await send(c, {"message": "x" * 500, "target_user": "pgo",
                           "id": i})
            await recv_json(c)
        await c.close()
    size = os.path.getsize(f)
    with open(f, "r+b") as fp:
        fp.seek(4096)
        fp.write(os.urandom(max(0, size - 4096)))
    rc, err, text, took = start_fails(f, timeout=3)
    if rc is None:
        # It started: it must still not crash when the pages are read.
        try:
            with chatlib.Server("--store", f, name="pages") as s:
                w = await connect(s, path="/demo/ws/pgo?since=0")
                # Only counted, not checked: what comes in a quiet time.
                got = await chatlib.drain(w, 0.5)
                await w.close()
                c = await connect(s, "pg")
                await send(c, {"message": "y", "target_user": "pgo",
                               "id": "y"})
                a = await recv_json(c)
                await c.close()
                check(a.get("type") in ("ack", "error"), "corrupt pages: "
                      "a chat still gets an answer: %r" % a)
                print("corrupt pages: started; %d messages read; chat "
                      "answered %r" % (len(got), a))
        except RuntimeError as e:
            check(False, "corrupt pages: %s" % str(e)[-300:])
    else:
        check(rc == 2 and (f in err or "pages.db" in err),
              "corrupt pages: exit 2 naming the file (%r): %r" % (rc, err))
        print("corrupt pages: refused: %s" % err.strip())


def test_readonly():
    # As root chmod stops nothing: a path under a regular file
    # (ENOTDIR) stands for a directory nobody can write in.
    afile = os.path.join(TMP, "afile")
    with open(afile, "w") as fp:
        fp.write("a regular file\n")
    f = os.path.join(afile, "store.db")
    expect_refusal("store under a regular file (ENOTDIR)", f,
                   r"not a directory")
    if ROOT:
        print("running as root: chmod 0555 does not stop root; the "
              "read-only directory cases run as uid %d" % NOBODY)
        pre = as_nobody
        try:
            ok = subprocess.run([chatlib.SERVER, "--version"],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=pre,
                                timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if not ok:
            print("uid %d cannot run %s: read-only directory cases "
                  "skipped (ENOTDIR case above only)" % (NOBODY,
                                                         chatlib.SERVER))
            return
    else:
        pre = None
    d = tempfile.mkdtemp(prefix="chat-ro-")
    try:
        if ROOT:
            os.chown(d, NOBODY, NOBODY)
        os.chmod(d, 0o555)
        f = os.path.join(d, "store.db")
        rc, err = expect_refusal("store in a read-only directory", f,
                                 PERM, preexec=pre)
        check("No such file" not in err, "the reason is not 'No such "
              "file' (the directory exists): %r" % err)
        check(not os.path.exists(f), "nothing created")
        # An existing store in a directory that became read-only: the
        # WAL cannot be created, so the store cannot be written.
        os.chmod(d, 0o755)
        sp = subprocess.Popen(
            [chatlib.SERVER, "--listen", "127.0.0.1", "--port", "0",
             "--store", f], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=pre)
        # It listens once its store is open: wait for that line.
        head = b""
        deadline = time.monotonic() + 10
        while b"listening on" not in head and time.monotonic() < deadline:
            r, _, _ = select.select([sp.stdout], [], [], 0.2)
            b = os.read(sp.stdout.fileno(), 4096) if r else b""
            if r and not b:
                break
            head += b
        sp.terminate()
        out = (head + sp.communicate(timeout=10)[0]).decode("utf-8",
                                                           "replace")
        check(sp.returncode == 0 and os.path.exists(f),
              "a store made by uid %d (%r): %r" % (os.geteuid() if not ROOT
                                                   else NOBODY,
                                                   sp.returncode,
                                                   out[-300:]))
        for x in os.listdir(d):
            if x != "store.db":
                os.unlink(os.path.join(d, x))
        os.chmod(d, 0o555)
        rc, err = expect_refusal("existing store, read-only directory",
                                 f, PERM, preexec=pre)
        check("No such file" not in err, "the reason is not 'No such "
              "file' (both exist): %r" % err)
        # A read-only store file in a writable directory.
        os.chmod(d, 0o755)
        os.chmod(f, 0o444)
        expect_refusal("read-only store file", f, PERM, preexec=pre)
    finally:
        os.chmod(d, 0o755)
        shutil.rmtree(d, ignore_errors=True)


async def test_locked():
    f = os.path.join(TMP, "locked.db")
    with chatlib.Server("--store", f, name="lock-a") as a:
        check(await roundtrip(a, "before"), "first server works")
        expect_refusal("store in use by another chat-server", f,
                       r"lock|in use|busy")
        check(await roundtrip(a, "after"), "first server unharmed by the "
              "refused second one")
    # Released on a clean stop...
    with chatlib.Server("--store", f, name="lock-b") as b:
        w = await connect(b, path="/demo/ws/rt-before?since=0")
        got = await settle(w)
        check([m.get("message") for m in got][1:] == ["before"],
              "the next server sees the data: %r" % got)
        await w.close()
    # ... and by a kill -9 (no stale lock).
    c = chatlib.Server("--store", f, name="lock-c")
    c.kill()
    try:
        with chatlib.Server("--store", f, name="lock-d") as d:
            check(await roundtrip(d, "afterkill"), "store usable after the "
                  "holder was killed -9")
    except RuntimeError as e:
        check(False, "stale lock after kill -9: %s" % str(e)[-300:])


# ---- disk full ----

FSIZE = 256 * 1024


def fsize_limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))


async def test_disk_full():
    f = os.path.join(TMP, "full.db")
    s = chatlib.Server("--store", f, "--queue-limit", "5000",
                       "--history-limit", "5000", name="diskfull",
                       preexec=fsize_limit)
    acked, refused, other = [], [], []
    first_refusal = None
    live = None
    body = "f" * 1024
    try:
        c = await connect(s, "df-c")
        i = 0
        extra = None
        while i < 2000:
            mid = "m%d" % i
            await send(c, {"message": "%05d:%s" % (i, body),
                           "target_user": "df-off", "id": mid})
            r = await recv_json(c, 10)
            if r.get("type") == "ack" and r.get("status") == "queued" and \
                    r.get("id") == mid:
                acked.append(i)
            elif r.get("type") == "error" and \
                    r.get("error") == "store_unavailable":
                check(r.get("id") == mid, "store_unavailable carries the "
                      "id: %r" % r)
                refused.append(i)
                if first_refusal is None:
                    first_refusal = i
                    check(isinstance(r.get("detail"), str),
                          "store_unavailable has a detail: %r" % r)
                    extra = i + 20
            else:
                other.append(r)
                break
            i += 1
            if extra is not None and i >= extra:
                break
        check(first_refusal is not None,
              "store_unavailable within 2000 1-KiB messages under a %d-KiB"
              " file limit (%d acked, other %r)" % (FSIZE // 1024,
                                                   len(acked), other[:2]))
        check(not other, "only acks and store_unavailable: %r" % other[:2])
        check(s.proc.poll() is None, "server alive after the disk filled "
              "(status %r)" % s.proc.poll())
        # Still answering.
        await send(c, {"type": "who"})
        w = await recv_json(c, 5)
        check(w.get("type") == "who" and "df-c" in w.get("users", []),
              "who answered while the store fails: %r" % w)
        on = await connect(s, "df-on")
        await send(c, {"message": "live", "target_user": "df-on",
                       "id": "live"})
        a = await recv_json(c, 5)
        ok = a.get("type") == "ack" and a.get("status") == "delivered" or \
            a.get("type") == "error" and a.get("error") == "store_unavailable"
        check(ok and a.get("id") == "live", "a chat to an online user gets "
              "a clear answer: %r" % a)
        live = a.get("status") or a.get("error")
        if a.get("type") == "ack":
            m = await recv_json(on, 5)
            check(m.get("message") == "live", "and is delivered: %r" % m)
        else:
            check(not await settle(on), "refused: not delivered")
        await on.close()
        # The target comes: exactly the acked ones.
        t = await connect(s, path="/demo/ws/df-off?since=0")
        got = await settle(t)
        r0 = got[0] if got else {}
        check(r0.get("type") == "resumed", "target resumed: %r" % r0)
        nums = [int(m["message"][:5]) for m in got if "seq" in m]
        check(nums == acked, "under the limit: every acked message "
              "exactly once, in order, none refused (%d got, %d acked, "
              "%d refused, missing %r, extra %r)" %
              (len(nums), len(acked), len(refused),
               sorted(set(acked) - set(nums))[:5],
               sorted(set(nums) - set(acked))[:5]))
        await t.close()
        await c.close()
        log = s.log()
        check(re.search(r"(?i)(store|sqlite|database|disk|\.db).*"
                        r"(too large|full|error|fail|unavailable|space)",
                        log) is not None,
              "server log mentions the store error: %r" % log[-600:])
    finally:
        rc = s.stop()
    check(rc is not None and rc >= 0, "server not killed by a signal "
          "(SIGXFSZ) (status %r)" % rc)
    print("disk full: first store_unavailable at message %r; %d acked, %d "
          "refused; a live chat then: %s; exit %r" %
          (first_refusal, len(acked), len(refused), live, rc))
    # Without the limit, on the same file: nothing acked was lost.
    with chatlib.Server("--store", f, name="diskfull-after") as s:
        t = await connect(s, path="/demo/ws/df-off?since=0")
        got = await settle(t)
        nums = [int(m["message"][:5]) for m in got if "seq" in m]
        check(nums == acked, "after restart without the limit: acked "
              "ones all there exactly once, none refused (%d vs %d)"
              % (len(nums), len(acked)))
        await t.close()
        check(await roundtrip(s, "recovered"), "the store accepts "
              "messages again")


async def main():
    t0 = time.monotonic()
    await test_bad_files()
    test_readonly()
    await test_locked()
    await test_disk_full()
    print("test_store_faults: %.1f s" % (time.monotonic() - t0))


chatlib.run(main())
chatlib.done()

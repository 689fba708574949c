# Copyright (c) 2026 The chat authors.
#
# natslib: what the cluster tests need of NATS: nats-server processes on
# 127.0.0.1 (one, with a configuration file, or a cluster of several
# with JetStream), a bare NATS client speaking the protocol on a socket
# (to publish what a node would not: forged messages), and operator,
# account and user JWTs with their NKeys, made here with Ed25519 from
# python3-cryptography, for a server that wants a .creds file.

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time

import chatlib

TMP = chatlib.TMP
NATS_BIN = chatlib.NATS_BIN

# Processes started here are killed at exit by chatlib (kill_at_exit).
free_port = chatlib.free_port
kill_all = chatlib.kill_all
stats = chatlib.stats


class Nats(chatlib.Nats):
    """chatlib.Nats, with a configuration file, a cluster, and pause.  conf:
    the text of a configuration file (client port and store dir are
    given on the command line); routes: join these route URLs as a
    cluster member named name (its own route port is picked by the
    server and read from its log, self.route)."""

    def __init__(self, name="nats", extra=(), conf=None, routes=None,
                 cluster=None):
        super().__init__(name, extra)
        self.conf = conf
        self.routes = routes
        self.cluster = cluster
        self.route = None

    def command(self):
        cmd = [NATS_BIN, "-js", "-a", "127.0.0.1", "-p", str(self.port),
               "-sd", self.dir] + self.extra
        if self.conf is not None:
            path = os.path.join(TMP, self.name + ".conf")
            with open(path, "w") as f:
                f.write(self.conf)
            cmd += ["-c", path]
        if self.cluster is not None:
            cmd += ["--server_name", self.name, "--cluster_name",
                    self.cluster, "--cluster",
                    "nats://127.0.0.1:%d" % (self.route or free_port())]
            if self.routes:
                cmd += ["--routes", ",".join(self.routes)]
        return cmd

    def start(self, timeout=10, tls=False):
        os.makedirs(self.dir, exist_ok=True)
        self.starts += 1
        cmd = self.command()
        logf = open(self.logpath, "ab")
        logf.write(b"==== start %d\n" % self.starts)
        logf.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf)
        logf.close()
        chatlib.kill_at_exit(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if "Server is ready" in self.log().split(
                    "==== start %d" % self.starts)[-1]:
                m = re.search(r"Listening for route connections on "
                              r"127\.0\.0\.1:(\d+)", self.log())
                if m:
                    self.route = int(m.group(1))
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("nats-server did not start:\n" + self.log())

    def route_url(self):
        return "nats://127.0.0.1:%d" % self.route

    def pause(self, timeout=5):
        """SIGSTOP, and wait until every thread of it is stopped (a
        signal takes a moment to stop them all on a busy machine)."""
        self.proc.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                tasks = os.listdir("/proc/%d/task" % self.proc.pid)
                states = []
                for t in tasks:
                    with open("/proc/%d/task/%s/stat" % (self.proc.pid,
                                                          t)) as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
                if all(x in ("T", "t") for x in states):
                    return True
            except OSError:
                pass
            time.sleep(0.01)
        return False

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)


class RawNats:
    """A bare NATS client on a socket: what anyone who can reach the
    NATS server can do without the cluster secret."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        self.sock.settimeout(5)
        self.buf = b""
        self._line()		# INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,'
                          b'"headers":true,"protocol":1}\r\nPING\r\n')
        while self._line() != b"PONG":
            pass

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("NATS closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def pub(self, subj, payload, headers=None):
        if isinstance(payload, str):
            payload = payload.encode()
        if headers:
            h = b"NATS/1.0\r\n" + b"".join(
                ("%s: %s\r\n" % (k, v)).encode() for k, v in
                headers.items()) + b"\r\n"
            self.sock.sendall(b"HPUB %s %d %d\r\n" % (
                subj.encode(), len(h), len(h) + len(payload)) + h +
                payload + b"\r\n")
        else:
            self.sock.sendall(b"PUB %s %d\r\n" % (subj.encode(),
                                                  len(payload)) +
                              payload + b"\r\n")

    def flush(self):
        self.sock.sendall(b"PING\r\n")
        while self._line() != b"PONG":
            pass

    def close(self):
        self.sock.close()


# ---- NKeys and JWTs (nats-server's operator mode) ----

_PREFIX = {"seed": 18 << 3, "operator": 14 << 3, "account": 0,
           "user": 20 << 3}


def _crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xffff
    return crc


def _b32(raw):
    raw += _crc16(raw).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")


class NKey:
    """An Ed25519 key pair as NATS writes it: public key (O..., A...,
    U...) and seed (SO..., SA..., SU...)."""

    def __init__(self, kind):
        from cryptography.hazmat.primitives.asymmetric import ed25519
        from cryptography.hazmat.primitives import serialization
        self.key = ed25519.Ed25519PrivateKey.generate()
        raw = self.key.private_bytes(serialization.Encoding.Raw,
                                     serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
        pub = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        p = _PREFIX[kind]
        self.public = _b32(bytes([p]) + pub)
        self.seed = _b32(bytes([_PREFIX["seed"] | (p >> 5),
                                (p & 31) << 3]) + raw)

    def sign(self, data):
        return self.key.sign(data)


def _b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def jwt(issuer, subject, name, nats):
    """A NATS JWT for subject's public key, signed by issuer (NKey)."""
    claims = {"iat": int(time.time()), "iss": issuer.public, "name": name,
              "sub": subject, "nats": dict(nats, version=2)}
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(
        claims, sort_keys=True).encode()).digest()).decode().rstrip("=")
    head = _b64url(json.dumps({"typ": "JWT",
                               "alg": "ed25519-nkey"}).encode())
    body = _b64url(json.dumps(claims).encode())
    sig = _b64url(issuer.sign((head + "." + body).encode()))
    return head + "." + body + "." + sig


class Operator:
    """An operator with a system account and one account with JetStream:
    conf() is the nats-server configuration, creds(path) writes a user's
    .creds file (a user of another operator with other=True: refused)."""

    LIMITS = {"subs": -1, "data": -1, "payload": -1, "imports": -1,
              "exports": -1, "wildcards": True, "conn": -1, "leaf": -1}

    def __init__(self):
        self.op = NKey("operator")
        self.sys = NKey("account")
        self.acct = NKey("account")
        self.sys_jwt = jwt(self.op, self.sys.public, "SYS",
                           {"type": "account", "limits": self.LIMITS})
        js = dict(self.LIMITS, mem_storage=-1, disk_storage=-1,
                  streams=-1, consumer=-1)
        self.acct_jwt = jwt(self.op, self.acct.public, "CHAT",
                            {"type": "account", "limits": js})
        self.op_jwt = jwt(self.op, self.op.public, "OP",
                          {"type": "operator",
                           "system_account": self.sys.public})

    def conf(self):
        return ("operator: %s\nsystem_account: %s\nresolver: MEMORY\n"
                "resolver_preload: {\n  %s: %s\n  %s: %s\n}\n"
                % (self.op_jwt, self.sys.public, self.acct.public,
                   self.acct_jwt, self.sys.public, self.sys_jwt))

    def creds(self, path, other=False):
        user = NKey("user")
        signer = NKey("account") if other else self.acct
        tok = jwt(signer, user.public, "chat-node",
                  {"type": "user", "pub": {}, "sub": {}, "subs": -1,
                   "data": -1, "payload": -1})
        with open(path, "w") as f:
            f.write("-----BEGIN NATS USER JWT-----\n%s\n------END NATS "
                    "USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n"
                    "%s\n------END USER NKEY SEED------\n" % (tok,
                                                               user.seed))
        os.chmod(path, 0o600)
        return path

"""TLS around the protocol, end to end: tcp_server's TLS listener with
certificates from `tcp_server certs`, tcp_client's TLS options (one-shot,
account commands, agent), `openssl s_client` as a client we did not write,
mutual TLS with the certificate naming the account, each client-side
failure with its own words, reload on SIGHUP with a client connected,
plain and TLS listeners side by side, and testssl.sh where it is
installed."""

import json
import os
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import time

import pytest

from conftest import DEADLINE, program, wait_for

PASSWORD = "correct horse battery"
OTHER_PIN = "sha256//" + "A" * 43 + "="
SUITE = b"Noise_XX_25519_AESGCM_SHA256"


# ---- Certificates and servers ---------------------------------------------


def certs(out, *args):
    result = subprocess.run([program("tcp_server"), "certs", "--out", str(out), *args],
                            capture_output=True, text=True, timeout=DEADLINE)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """a: a CA with a server certificate and client alice; b: another CA;
    expired: a server certificate of CA a that expired."""
    base = tmp_path_factory.mktemp("pki")
    made = certs(base / "a", "--client", "alice")
    certs(base / "b")
    certs(base / "expired", "--ca-dir", str(base / "a"), "--expired")
    pin = re.search(r"server key pin: (sha256//\S+)", made.stdout).group(1)
    return {"a": base / "a", "b": base / "b", "expired": base / "expired", "pin": pin}


def tls_server(start_server, cert_dir, *extra, name=None):
    """A server with its plain listener and a TLS one, both on free ports."""
    srv = start_server("--tls", "--tls-port", "0", "--cert", str(cert_dir / "server.crt"),
                       "--key", str(cert_dir / "server.key"), *extra, name=name)
    srv.tls_port = int(srv.status["tls_listen"][0].rsplit(":", 1)[1])
    return srv


def tls_args(server, pki, *extra):
    """-H/-p of the TLS listener and the TLS options trusting CA a."""
    return ["-H", "127.0.0.1", "-p", str(server.tls_port), "--tls", "--ca",
            str(pki["a"] / "ca.crt"), *extra]


def alice_cert(pki):
    return ["--cert", str(pki["a"] / "client-alice.crt"),
            "--key", str(pki["a"] / "client-alice.key")]


def tcp_hello():
    """A ClientHello of the tcpseal protocol (docs/protocol.md section 2.1)
    offering one suite."""
    body = bytes([1, len(SUITE)]) + SUITE
    return b"TSEL" + bytes([1, 1]) + struct.pack(">H", len(body)) + body


# ---- openssl s_client -------------------------------------------------------


def s_client(port, *args, stdin=b""):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input=stdin, capture_output=True, timeout=DEADLINE)


def s_client_serial(port, ca):
    """The serial number of the certificate the server shows now."""
    shown = s_client(port, "-tls1_3", "-CAfile", str(ca), "-servername", "localhost")
    pem = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                    shown.stdout, re.S)
    assert pem, shown.stdout.decode(errors="replace")
    return cert_serial(pem.group(0))


def cert_serial(pem):
    result = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem,
                            capture_output=True, timeout=DEADLINE)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def file_serial(path):
    return cert_serial(path.read_bytes())


# ---- Tests ------------------------------------------------------------------


def test_certs_files_and_modes(pki):
    for name in ("ca.key", "server.key", "client-alice.key"):
        assert stat.S_IMODE(os.stat(pki["a"] / name).st_mode) == 0o600
    for name in ("ca.crt", "server.crt", "client-alice.crt"):
        assert (pki["a"] / name).read_text().startswith("-----BEGIN CERTIFICATE-----")
    # The pin printed is the pin of the server's key.
    assert re.fullmatch(r"sha256//[A-Za-z0-9+/]{43}=", pki["pin"])


def test_client_over_tls13_sends_and_receives(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"])
    client = make_client()
    sent = client.run("send", *tls_args(server, pki), "Hello over TLS")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == "Hello over TLS\n"
    signed = client.run("sign", "--json", *tls_args(server, pki, "--pin", pki["pin"],
                                                      "--servername", "localhost"),
                        "signed over TLS")
    assert signed.returncode == 0, signed.stderr
    env = json.loads(signed.stdout)
    assert env["payload"] == "signed over TLS" and env["verified"] is True
    # The inner channel's key rules hold inside TLS: same server key.
    assert env["server_key"] == server.fingerprint
    assert server.status_json()["requests"]["handled"] == 2
    assert "tls_failed" not in server.output()


def test_s_client_handshake_and_hello_answer(start_server, pki):
    server = tls_server(start_server, pki["a"])
    proc = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{server.tls_port}",
                             "-tls1_3", "-CAfile", str(pki["a"] / "ca.crt"), "-servername",
                             "localhost", "-verify_return_error", "-quiet", "-ign_eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(tcp_hello())
        proc.stdin.flush()
        answer = b""
        end = time.monotonic() + DEADLINE
        while len(answer) < 8 + 1 + len(SUITE) and time.monotonic() < end:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                answer += chunk
    finally:
        proc.kill()
        _, err = proc.communicate()
    # ServerHello accept (docs/protocol.md section 2.2) naming our suite.
    assert answer == b"TSEL\x01\x02" + struct.pack(">H", 1 + len(SUITE)) + bytes(
        [len(SUITE)]) + SUITE, err.decode(errors="replace")
    rows = [c for c in server.connections() if c["tls"] is not None]
    assert not rows or rows[0]["tls"]["version"] == "TLSv1.3"


@pytest.mark.parametrize("version", ["-tls1_1", "-tls1_2"])
def test_s_client_old_versions_refused(start_server, pki, version):
    server = tls_server(start_server, pki["a"])
    # SECLEVEL=0 lets OpenSSL offer TLS 1.1 at all, so the server refuses it.
    result = s_client(server.tls_port, version, "-cipher", "DEFAULT@SECLEVEL=0",
                      "-CAfile", str(pki["a"] / "ca.crt"))
    out = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode != 0
    assert "alert protocol version" in out
    assert "Cipher is (NONE)" in out
    wait_for(lambda: "unsupported protocol" in server.output(), what="the refusal logged")


def test_min_version_12_allows_tls12(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"], "--tls-min-version", "1.2")
    result = s_client(server.tls_port, "-tls1_2", "-CAfile", str(pki["a"] / "ca.crt"))
    assert b"Protocol  : TLSv1.2" in result.stdout
    client = make_client()
    sent = client.run("send", *tls_args(server, pki, "--tls-min-version", "1.2"), "either")
    assert sent.returncode == 0, sent.stderr


def test_mutual_tls_maps_certificate_to_account(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"], "--ca", str(pki["a"] / "ca.crt"),
                        "--verify-client", "required", "--map-cn")
    added = subprocess.run([program("tcp_server"), "useradd", "alice"], capture_output=True,
                           text=True, timeout=DEADLINE,
                           env=dict(server.env, TCPSEAL_PASSWORD=PASSWORD))
    assert added.returncode == 0, added.stderr
    client = make_client()

    refused = client.run("whoami", *tls_args(server, pki))
    assert refused.returncode == 8
    assert (f"TLS: 127.0.0.1:{server.tls_port} requires a client certificate (give --cert "
            "FILE --key FILE)") in refused.stderr
    refused_send = client.run("send", *tls_args(server, pki), "no certificate")
    assert refused_send.returncode == 8
    assert "requires a client certificate" in refused_send.stderr

    who = client.run("whoami", "--json", *tls_args(server, pki, *alice_cert(pki)))
    assert who.returncode == 0, who.stderr
    answer = json.loads(who.stdout)
    assert answer["user"] == "alice" and answer["anonymous"] is False
    assert "event=cn_mapped user=alice" in server.output()
    sent = client.run("send", *tls_args(server, pki, *alice_cert(pki)), "mutual")
    assert sent.returncode == 0 and sent.stdout == "mutual\n", sent.stderr


def test_wrong_ca_refused(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"])
    result = make_client().run("send", "-H", "127.0.0.1", "-p", str(server.tls_port), "--tls",
                               "--ca", str(pki["b"] / "ca.crt"), "x")
    assert result.returncode == 8
    assert re.search(r"TLS: the server certificate for 127\.0\.0\.1 is signed by an unknown "
                     r"CA \('tcpseal test CA \w+'; verify with --ca FILE\)", result.stderr)


def test_system_cas_do_not_know_a_test_ca(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"])
    result = make_client().run("send", "-H", "127.0.0.1", "-p", str(server.tls_port), "--tls",
                               "x")
    assert result.returncode == 8 and "unknown CA" in result.stderr


def test_wrong_hostname_refused(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"])
    result = make_client().run("send", *tls_args(server, pki, "--servername",
                                                 "wrong.example"), "x")
    assert result.returncode == 8
    assert ("TLS: the server certificate is not valid for wrong.example (hostname mismatch: "
            "it names DNS:localhost, IP:127.0.0.1, IP:::1; set --servername NAME)"
            ) in result.stderr


def test_expired_certificate_refused(start_server, make_client, pki):
    server = tls_server(start_server, pki["expired"])
    result = make_client().run("send", *tls_args(server, pki), "x")
    assert result.returncode == 8
    assert re.search(r"TLS: the server certificate for 127\.0\.0\.1 expired on "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \(certificate expired\)", result.stderr)


def test_pin_mismatch_refused(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"])
    result = make_client().run("send", *tls_args(server, pki, "--pin", OTHER_PIN), "x")
    assert result.returncode == 8
    assert (f"TLS: the server key for 127.0.0.1 does not match the pin (pin mismatch: it is "
            f"{pki['pin']})") in result.stderr


def test_tls_option_mistakes_are_usage_errors(make_client, pki, tmp_path):
    client = make_client()
    cases = [
        (["--ca", str(pki["a"] / "ca.crt")], "are TLS options: add --tls"),
        (["--tls", "--ca", str(tmp_path / "missing.crt")], "No such file or directory"),
        (["--tls", "--cert", str(pki["a"] / "client-alice.crt")],
         "needs both --cert FILE and --key FILE"),
        (["--tls", "--pin", "sha256//short"], "--pin wants sha256//"),
        (["--tls", "--tls-min-version", "1.1"], "--tls-min-version is 1.2 or 1.3"),
    ]
    for args, words in cases:
        for command in ("send", "whoami", "start"):
            extra = ["x"] if command == "send" else []
            result = client.run(command, "-p", "1", *args, *extra)
            assert result.returncode == 2, (command, args, result.stderr)
            assert words in result.stderr, (command, args, result.stderr)
    # Files that exist but do not load are refused before connecting.
    mismatch = client.run("send", "-p", "1", "--tls", "--cert",
                          str(pki["a"] / "client-alice.crt"), "--key",
                          str(pki["a"] / "server.key"), "x")
    assert mismatch.returncode == 2 and "is not the key of" in mismatch.stderr


def test_plain_and_tls_listeners_side_by_side(start_server, make_client, pki):
    server = tls_server(start_server, pki["a"])
    assert server.tls_port != server.port
    client = make_client(server)
    plain = client.run("send", "plain")
    assert plain.returncode == 0 and plain.stdout == "plain\n", plain.stderr
    over_tls = client.run("send", *tls_args(server, pki), "tls")
    assert over_tls.returncode == 0 and over_tls.stdout == "tls\n", over_tls.stderr
    # One identity on both: the key recorded for each address is the same.
    known = (client.state_dir / "known_servers").read_text()
    assert known.count(server.fingerprint) == 2
    # TLS towards the plain listener is told apart from a TLS failure.
    crossed = client.run("send", "-H", "127.0.0.1", "-p", str(server.port), "--tls", "x")
    assert crossed.returncode == 8
    assert f"TLS: 127.0.0.1:{server.port} did not answer with TLS" in crossed.stderr
    # Both listeners keep serving afterwards.
    assert client.run("send", "again").returncode == 0
    assert client.run("send", *tls_args(server, pki), "again").returncode == 0
    listen = server.status_json()
    assert len(listen["listen"]) == 1 and len(listen["tls_listen"]) == 1


def test_agent_over_tls(start_server, make_client, make_agent, pki):
    server = tls_server(start_server, pki["a"])
    client = make_client()
    agent = make_agent(client)
    started = agent.start(*tls_args(server, pki, "--pin", pki["pin"]))
    assert started.returncode == 0, started.stderr
    assert f"connected to 127.0.0.1:{server.tls_port} ({server.fingerprint})" in started.stdout
    st = agent.status()
    assert st["state"] == "connected" and st["server"] == f"127.0.0.1:{server.tls_port}"
    rows = server.connections()
    assert len(rows) == 1 and rows[0]["tls"]["version"] == "TLSv1.3"
    assert rows[0]["tls"]["cipher"].startswith("TLS_")
    # The same for people: the TLS listener, and each connection's version
    # and cipher.
    human = server.ctl("status").stdout
    assert f"tls          127.0.0.1:{server.tls_port}" in human, human
    table = server.ctl("connections").stdout.splitlines()
    assert "TLS" in table[0].split()
    assert f"TLSv1.3 {rows[0]['tls']['cipher']}" in table[1], table

    sent = client.run("send", "-H", "127.0.0.1", "-p", str(server.tls_port), "via the agent")
    assert sent.returncode == 0 and sent.stdout == "via the agent\n", sent.stderr
    # One session carried it: the agent's, not a one-shot connection.
    assert server.status_json()["handshakes"]["ok"] == 1
    assert agent.stop().returncode == 0


def test_agent_reports_tls_failure(start_server, make_client, make_agent, pki):
    server = tls_server(start_server, pki["a"])
    client = make_client()
    agent = make_agent(client)
    started = agent.start(*tls_args(server, pki, "--pin", OTHER_PIN))
    assert started.returncode == 8
    assert "pin mismatch" in started.stderr
    assert not agent.running()


def test_reload_on_sighup_keeps_clients(start_server, make_client, make_agent, pki, tmp_path):
    live = tmp_path / "live"
    certs(live, "--ca-dir", str(pki["a"]))
    server = tls_server(start_server, live)
    ca = pki["a"] / "ca.crt"
    first = file_serial(live / "server.crt")
    assert s_client_serial(server.tls_port, ca) == first

    client = make_client()
    agent = make_agent(client)
    assert agent.start(*tls_args(server, pki)).returncode == 0
    before = [c["id"] for c in server.connections()]
    assert len(before) == 1

    # New certificate and key in place, then SIGHUP.
    certs(live, "--ca-dir", str(pki["a"]), "--force")
    second = file_serial(live / "server.crt")
    assert second != first
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: s_client_serial(server.tls_port, ca) == second,
             what="the new certificate on new connections")
    # The established session was not touched and still works.
    assert [c["id"] for c in server.connections()] == before
    sent = client.run("send", "-H", "127.0.0.1", "-p", str(server.tls_port), "still here")
    assert sent.returncode == 0 and sent.stdout == "still here\n", sent.stderr
    assert agent.status()["state"] == "connected"
    assert server.status_json()["handshakes"]["ok"] == 1
    # New clients are served with the new certificate.
    assert make_client().run("send", *tls_args(server, pki), "new").returncode == 0

    # A broken file is reported and the certificate in use stays.
    (live / "server.crt").write_text("not a certificate\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "event=reload_failed" in server.output(), what="the failed reload")
    assert s_client_serial(server.tls_port, ca) == second
    assert make_client().run("send", *tls_args(server, pki), "old").returncode == 0
    assert agent.status()["state"] == "connected"


TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")


@pytest.mark.skipif(TESTSSL is None, reason="testssl.sh is not installed (make deps)")
def test_testssl_scan(start_server, pki, tmp_path):
    server = tls_server(start_server, pki["a"])
    # Debian's OpenSSL hides TLS 1.0/1.1 and weak suites from the scanner
    # unless the security level is lowered (DESIGN.md).
    conf = tmp_path / "openssl.cnf"
    conf.write_text("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\n"
                    "system_default = defaults\n[defaults]\nMinProtocol = None\n"
                    "CipherString = ALL:@SECLEVEL=0\n")
    report = tmp_path / "testssl.json"
    result = subprocess.run([TESTSSL, "--quiet", "--color", "0", "--fast", "--nodns", "none",
                             "--warnings", "off", "-p", "-s", "-f", "--jsonfile", str(report),
                             f"127.0.0.1:{server.tls_port}"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, OPENSSL_CONF=str(conf)))
    assert result.returncode == 0, result.stdout + result.stderr
    found = {item["id"]: item["finding"] for item in json.loads(report.read_text())}
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"):
        assert found[proto] == "not offered", (proto, found[proto])
    assert found["TLS1_3"].startswith("offered")
    for weak in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                 "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
        assert found[weak] == "not offered", (weak, found[weak])
    assert found["cipherlist_STRONG"] == "offered"
    assert found["PFS"] == "offered"
    # Every suite offered is forward-secret: all of them are listed there.
    assert set(found["PFS_ciphers"].split()) == {
        "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"}


def test_certs_and_their_two_config_lines(start_server, make_client, tmp_path):
    """What the README promises: `tcp_server certs`, then the two [tls]
    lines it prints, give a working TLS listener."""
    made = certs(tmp_path / "tls")
    lines = re.search(r"\[tls\]\n(cert = .*\nkey = .*\n)", made.stdout).group(1)
    # A free port instead of 8443, for the test only.
    server = start_server(config="[tls]\n" + lines + "port = 0\n")
    assert len(server.status["tls_listen"]) == 1
    port = int(server.status["tls_listen"][0].rsplit(":", 1)[1])
    sent = make_client().run("send", "-H", "127.0.0.1", "-p", str(port), "--tls", "--ca",
                             str(tmp_path / "tls" / "ca.crt"), "Hello, TLS")
    assert sent.returncode == 0 and sent.stdout == "Hello, TLS\n", sent.stderr
    # enabled = no keeps the listener off while the files stay configured.
    off = start_server(config="[tls]\n" + lines + "enabled = no\n", name="off")
    assert off.status["tls_listen"] == []

"""tcp_server: start, status, connections, stop, kick, send, daemon mode."""

import json
import os
import signal
import socket
import stat
import subprocess

from conftest import DEADLINE, Server, logged, program, wait_for


def test_status_and_connections_human_and_json(server, peers):
    peer = peers("hold", server.port)
    peer.expect("established")
    server.wait_ready()
    status = server.status_json()
    assert status["running"] is True
    assert status["listen"] == [f"127.0.0.1:{server.port}"]
    assert status["fingerprint"].startswith("SHA256:")
    assert status["workers"] >= 1
    assert status["connections"]["current"] == 1
    assert status["handshakes"]["ok"] == 1
    assert status["memory"]["rss_bytes"] > 0
    human = server.ctl("status")
    assert human.returncode == 0
    assert "running" in human.stdout and server.fingerprint in human.stdout

    rows = server.connections()
    assert len(rows) == 1
    row = rows[0]
    assert row["state"] == "ready"
    assert row["peer"].startswith("127.0.0.1:")
    assert row["fingerprint"].startswith("SHA256:")
    assert row["suite"] == "Noise_XX_25519_AESGCM_SHA256"
    table = server.ctl("connections")
    assert table.returncode == 0 and str(row["id"]) in table.stdout


def test_stop_closes_clients_with_reason_and_exits(server, peers):
    peer = peers("hold", server.port)
    peer.expect("established")
    server.wait_ready()
    result = server.ctl("stop")
    assert result.returncode == 0, result.stderr
    assert "closed 23 server shutting down" in peer.expect("closed")
    assert server.proc.wait(timeout=DEADLINE) == 0


def test_sigterm_stops_gracefully(server, peers):
    peer = peers("hold", server.port)
    peer.expect("established")
    server.wait_ready()
    assert server.stop(signal.SIGTERM) == 0
    assert peer.expect("closed").startswith("closed 23")


def test_sigint_stops_gracefully(server, peers):
    peer = peers("hold", server.port)
    peer.expect("established")
    server.wait_ready()
    assert server.stop(signal.SIGINT) == 0
    assert peer.expect("closed") == "closed 23 server shutting down"
    # The server has exited: its log is complete on disk.
    assert "via=signal signal=SIGINT mode=graceful" in server.log_path.read_text()


def test_kick_and_send(server, peers):
    peer = peers("hold", server.port)
    peer.expect("established")
    server.wait_ready()
    client_id = server.connections()[0]["id"]
    sent = server.ctl("send", str(client_id), "maintenance at six")
    assert sent.returncode == 0, sent.stderr
    assert peer.expect("message").endswith("maintenance at six")
    kicked = server.ctl("kick", str(client_id), "go away")
    assert kicked.returncode == 0, kicked.stderr
    assert peer.expect("closed") == "closed 21 go away"
    unknown = server.ctl("kick", "999999")
    assert unknown.returncode == 1
    assert "no client with id 999999" in unknown.stderr


def test_control_commands_without_server_exit_3(tmp_path):
    env = dict(os.environ, TCPSEAL_SERVER_DIR=str(tmp_path / "nothing"))
    for args in (["status"], ["status", "--json"], ["connections"], ["stop"],
                 ["kick", "1"], ["send", "1", "hi"]):
        result = subprocess.run([program("tcp_server"), *args], capture_output=True,
                                text=True, env=env, timeout=DEADLINE)
        assert result.returncode == 3, (args, result.stderr)
        if args == ["status", "--json"]:
            assert json.loads(result.stdout) == {"running": False}
        else:
            assert "not running" in result.stdout + result.stderr


def test_fingerprint_matches_running_server(server):
    result = server.ctl("fingerprint")
    assert result.returncode == 0
    assert result.stdout.strip() == server.fingerprint


def test_daemon_reports_port_in_use(tmp_path, server):
    env = dict(os.environ, TCPSEAL_SERVER_DIR=str(tmp_path / "second"))
    result = subprocess.run([program("tcp_server"), "start", "-d", "-H", "127.0.0.1", "-p",
                             str(server.port)], capture_output=True, text=True, env=env,
                            timeout=DEADLINE)
    assert result.returncode != 0
    assert "Address already in use" in result.stderr
    # The first server is unharmed.
    assert server.status_json()["running"] is True


def test_daemon_starts_and_stops(tmp_path):
    state = tmp_path / "daemon"
    env = dict(os.environ, TCPSEAL_SERVER_DIR=str(state))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = subprocess.run([program("tcp_server"), "start", "-d", "-H", "127.0.0.1", "-p",
                              str(port)], capture_output=True, text=True, env=env,
                             timeout=DEADLINE)
    assert started.returncode == 0, started.stderr
    assert "started" in started.stdout + started.stderr
    pid = int((state / "tcp_server.pid").read_text().split()[0])
    status = subprocess.run([program("tcp_server"), "status", "--json"], capture_output=True,
                            text=True, env=env, timeout=DEADLINE)
    assert json.loads(status.stdout)["pid"] == pid
    stopped = subprocess.run([program("tcp_server"), "stop"], capture_output=True, text=True,
                             env=env, timeout=DEADLINE)
    assert stopped.returncode == 0, stopped.stderr
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="daemon to exit")


def test_second_start_refused(server):
    result = subprocess.run([program("tcp_server"), "start", "-H", "127.0.0.1", "-p", "0"],
                            capture_output=True, text=True, env=server.env, timeout=DEADLINE)
    assert result.returncode == 1
    assert "already running" in result.stderr


def test_status_and_connections_report_every_field(server, peers):
    peer = peers("hold", server.port)
    peer.expect("established")
    server.wait_ready()
    status = server.status_json()
    # One worker per core the server may run on (it inherits our affinity).
    assert status["workers"] == len(os.sched_getaffinity(0))
    assert status["uptime_s"] >= 0 and status["started_at"].endswith("Z")
    assert status["connections"] == {"current": 1, "peak": 1, "total": 1}
    assert set(status["rejected"]) >= {"server_full", "too_many_from_address", "rate_limited",
                                       "unsupported_version", "unsupported_suite", "bad_hello",
                                       "shutting_down"}
    assert status["handshakes"] == {"ok": 1, "failed": 0}
    assert set(status["messages"]) == {"in", "out"}
    assert status["bytes"]["in"] > 0 and status["bytes"]["out"] > 0
    human = server.ctl("status").stdout
    for label in ("uptime", "listening", "fingerprint", "workers", "connections", "rejected",
                  "handshakes", "messages", "bytes", "memory"):
        assert label in human, (label, human)
    row = server.connections()[0]
    for field in ("id", "peer", "fingerprint", "state", "connected_at", "last_activity",
                  "messages_in", "messages_out", "bytes_in", "bytes_out"):
        assert field in row, field
    header = server.ctl("connections").stdout.splitlines()[0]
    for column in ("ID", "PEER", "STATE", "CONNECTED", "IDLE", "MSG IN", "MSG OUT",
                   "BYTES IN", "BYTES OUT", "FINGERPRINT"):
        assert column in header, (column, header)


def test_sighup_reloads_limits_and_log_level(start_server, peers):
    config = "[server]\nlog_level = info\n[limits]\nmax_clients = 1\nmax_per_address = 1\n"
    # TCPSEAL_LOG empty: the file decides the level. The flag must keep
    # winning over the file across the reload.
    srv = start_server("--max-per-address", "5", config=config, env={"TCPSEAL_LOG": ""})
    first = peers("hold", srv.port)
    first.expect("established")
    srv.wait_ready(1)
    second = peers("hold", srv.port)
    assert second.expect("rejected") == "rejected 1 server full"
    assert not logged(srv, "handshake_ok")  # a debug line: not at info

    (srv.state_dir / "test.ini").write_text(
        "[server]\nlog_level = debug\n[limits]\nmax_clients = 3\nmax_per_address = 1\n")
    srv.proc.send_signal(signal.SIGHUP)
    reloaded = wait_for(lambda: logged(srv, "reloaded"), what="the reload to be logged")
    assert "log_level=debug" in reloaded[0]
    limits = srv.status_json()["limits"]
    assert limits["max_clients"] == 3
    assert limits["max_per_address"] == 5

    third = peers("hold", srv.port)
    third.expect("established")
    wait_for(lambda: logged(srv, "handshake_ok"), what="a debug line after the reload")
    # The connection admitted before the reload is untouched by it.
    assert all(c["state"] == "ready" for c in srv.connections())
    assert len(srv.connections()) == 2


def test_sighup_with_a_broken_file_keeps_the_settings(start_server, make_client):
    ini = "[limits]\nmax_clients = 5\n"
    srv = start_server(config=ini)
    cfg = srv.state_dir / "test.ini"
    cfg.write_text("[limits]\nmax_clients = lots\n")
    srv.proc.send_signal(signal.SIGHUP)
    failed = wait_for(lambda: logged(srv, "reload_failed"), what="the refused reload")
    assert "max_clients" in failed[0] and "test.ini:2" in failed[0]
    assert srv.status_json()["limits"]["max_clients"] == 5
    assert make_client(srv).run("send", "still serving").stdout == "still serving\n"

    # What cannot change while running is named and left; the rest applies.
    cfg.write_text("[server]\nworkers = 3\n[limits]\nmax_clients = 7\n")
    workers = srv.status_json()["workers"]
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: logged(srv, "reloaded"), what="the second reload")
    assert "setting=workers" in logged(srv, "reload_needs_restart")[0]
    status = srv.status_json()
    assert status["limits"]["max_clients"] == 7 and status["workers"] == workers


def test_help_and_version():
    for prog in ("tcp_server", "tcp_client"):
        version = subprocess.run([program(prog), "--version"], capture_output=True, text=True)
        assert version.returncode == 0 and prog in version.stdout
        helped = subprocess.run([program(prog), "--help"], capture_output=True, text=True)
        assert helped.returncode == 0 and "usage" in helped.stdout
    for cmd in ("start", "status", "connections", "stop", "kick", "send", "fingerprint"):
        helped = subprocess.run([program("tcp_server"), cmd, "--help"], capture_output=True,
                                text=True)
        assert helped.returncode == 0 and cmd in helped.stdout
        assert helped.stdout.startswith(f"usage: tcp_server {cmd}")
    for cmd in ("send", "sign", "response"):
        helped = subprocess.run([program("tcp_client"), cmd, "--help"], capture_output=True,
                                text=True)
        assert helped.returncode == 0
        assert helped.stdout.startswith(f"usage: tcp_client {cmd}")


def test_help_names_every_option_and_command():
    top = subprocess.run([program("tcp_server"), "--help"], capture_output=True, text=True)
    for cmd in ("start", "status", "connections", "stop", "kick", "send", "fingerprint"):
        assert f"  {cmd} " in top.stdout, cmd
    start = subprocess.run([program("tcp_server"), "start", "--help"], capture_output=True,
                           text=True).stdout
    for option in ("-c, --config", "-H, --host", "-p, --port", "--state-dir", "--max-clients",
                   "--workers", "--log-level", "--log-file", "-d, --daemon",
                   "--max-per-address", "--handshake-timeout", "--heartbeat", "--idle-timeout",
                   "--max-message", "--message-rate", "--byte-rate", "--max-output",
                   "--handler", "--sign-responses", "TCPSEAL_LOG", "SIGHUP"):
        assert option in start, option
    for cmd in ("status", "connections"):
        helped = subprocess.run([program("tcp_server"), cmd, "--help"], capture_output=True,
                                text=True).stdout
        assert "--json" in helped, cmd
    send = subprocess.run([program("tcp_client"), "send", "--help"], capture_output=True,
                          text=True).stdout
    for option in ("-H, --host", "-p, --port", "--server-key", "--json", "--timeout"):
        assert option in send, option
    # A mistake on the command line is status 2 with a pointer to --help.
    for args in (["bogus"], ["start", "--bogus"], []):
        wrong = subprocess.run([program("tcp_server"), *args], capture_output=True, text=True)
        assert wrong.returncode == 2, args
        assert "help" in wrong.stderr or "usage" in wrong.stderr, args


def test_log_level_from_environment(start_server, peers):
    srv = start_server(env={"TCPSEAL_LOG": "debug"})
    peer = peers("hold", srv.port)
    peer.expect("established")
    wait_for(lambda: "event=handshake_ok" in srv.output(), what="a debug line in the log")


def start_detached(state, *args):
    env = dict(os.environ, TCPSEAL_SERVER_DIR=str(state))
    return subprocess.run([program("tcp_server"), "start", "-d", "-H", "127.0.0.1", "-p", "0",
                           "--state-dir", str(state), *args], capture_output=True, text=True,
                          env=env, timeout=DEADLINE)


def stop_detached(state):
    stopped = subprocess.run([program("tcp_server"), "stop", "--state-dir", str(state)],
                             capture_output=True, text=True, timeout=DEADLINE)
    assert stopped.returncode == 0, stopped.stderr


def test_first_start_creates_private_state_and_prints_fingerprint(tmp_path):
    state = tmp_path / "not" / "yet" / "there"
    started = start_detached(state)
    assert started.returncode == 0, started.stderr
    try:
        said = started.stdout + started.stderr
        fingerprint = subprocess.run([program("tcp_server"), "fingerprint", "--state-dir",
                                      str(state)], capture_output=True, text=True).stdout.strip()
        assert f"created server identity {fingerprint} in {state}" in said
        assert f"fingerprint {fingerprint}" in said
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        assert stat.S_IMODE((state / "identity.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((state / "control.sock").stat().st_mode) == 0o600
    finally:
        stop_detached(state)
    # A second start keeps the key and says nothing about creating one.
    again = start_detached(state)
    assert again.returncode == 0, again.stderr
    stop_detached(state)
    assert "created server identity" not in again.stdout + again.stderr
    assert f"fingerprint {fingerprint}" in again.stdout + again.stderr


def test_daemon_reports_bad_config_and_unreadable_key(tmp_path):
    state = tmp_path / "state"
    bad = tmp_path / "bad.ini"
    bad.write_text("[server]\nprot = 9000\n")
    refused = start_detached(state, "-c", str(bad))
    assert refused.returncode == 2
    assert f"{bad}:2: unknown setting 'prot' in [server]" in refused.stderr

    started = start_detached(state)
    assert started.returncode == 0, started.stderr
    stop_detached(state)
    os.chmod(state / "identity.key", 0o644)
    unreadable = start_detached(state)
    assert unreadable.returncode == 9
    assert "cannot load the server identity" in unreadable.stderr
    assert "too open" in unreadable.stderr
    # Nothing was left running.
    status = subprocess.run([program("tcp_server"), "status", "--state-dir", str(state)],
                            capture_output=True, text=True, timeout=DEADLINE)
    assert status.returncode == 3


def test_default_workers_follow_the_allowed_cores(tmp_path):
    state = tmp_path / "one-core"
    env = dict(os.environ, TCPSEAL_SERVER_DIR=str(state))
    started = subprocess.run(["taskset", "-c", str(min(os.sched_getaffinity(0))),
                              program("tcp_server"), "start", "-d", "-H", "127.0.0.1", "-p",
                              "0"], capture_output=True, text=True, env=env, timeout=DEADLINE)
    assert started.returncode == 0, started.stderr
    try:
        status = subprocess.run([program("tcp_server"), "status", "--json"], capture_output=True,
                                text=True, env=env, timeout=DEADLINE)
        assert json.loads(status.stdout)["workers"] == 1
    finally:
        stop_detached(state)

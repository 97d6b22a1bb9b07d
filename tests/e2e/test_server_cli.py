"""tcp_server: start, status, connections, stop, kick, send, daemon mode."""

import json
import os
import signal
import socket
import subprocess

from conftest import DEADLINE, Server, program, wait_for


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


def test_log_level_from_environment(start_server, peers):
    srv = start_server(env={"TCPSEAL_LOG": "debug"})
    peer = peers("hold", srv.port)
    peer.expect("established")
    wait_for(lambda: "event=handshake_ok" in srv.output(), what="a debug line in the log")

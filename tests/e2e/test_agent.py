"""The tcp_client agent against the real server: start, status, stop;
requests through the agent; reconnecting after the server went away; the
outbox surviving a killed agent; a killed server; a changed server key;
heartbeats; and the example programs."""

import json
import os
import re
import signal
import stat
import subprocess

from conftest import DEADLINE, LineReader, program, wait_for

FAST = ("--reconnect-initial", "50ms", "--reconnect-max", "300ms")
ANY_KEY = "SHA256:" + "A" * 43


def requests(server):
    return server.status_json()["requests"]


def payloads(client):
    """Payloads of every message in the agent's inbox, oldest first."""
    result = client.run("response", "--all", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["payload"] for line in result.stdout.splitlines()]


def restart(start_server, old, name):
    """A server on old's port; with old's state directory, the same key."""
    return start_server("-p", str(old.port), name=name)


def test_start_status_stop(start_server, make_client, make_agent):
    server = start_server(env={"TCPSEAL_LOG": "debug"})
    client = make_client(server)
    agent = make_agent(client)
    absent = client.run("status")
    assert absent.returncode == 3 and "agent not running" in absent.stderr
    absent_json = client.run("status", "--json")
    assert absent_json.returncode == 3 and json.loads(absent_json.stdout) == {"running": False}

    started = agent.start()
    assert started.returncode == 0, started.stderr
    assert started.stdout == (f"tcp_client agent started (pid {agent.pid}), connected to "
                              f"127.0.0.1:{server.port} ({server.fingerprint})\n")
    assert stat.S_IMODE(os.stat(agent.sock_path).st_mode) == 0o600
    assert agent.pid_path.read_text().strip() == str(agent.pid)

    st = agent.status()
    own = client.run("fingerprint").stdout.strip()
    assert st["running"] is True and st["pid"] == agent.pid
    assert st["state"] == "connected"
    assert st["server"] == f"127.0.0.1:{server.port}"
    assert st["server_key"] == server.fingerprint
    assert st["fingerprint"] == own
    assert st["session_age_s"] >= 0 and st["connected_since"]
    # The one exchange so far: the agent asked who its key logs in as.
    assert st["messages"] == {"in": 1, "out": 1}
    assert (st["outbox"], st["in_flight"], st["inbox"], st["rekeys"]) == (0, 0, 0, 0)
    human = client.run("status")
    assert human.returncode == 0
    assert "state:       connected" in human.stdout
    assert server.fingerprint in human.stdout

    again = agent.start()
    assert again.returncode == 1
    assert f"agent already running (pid {agent.pid})" in again.stderr

    stopped = agent.stop()
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"tcp_client agent stopped (pid {agent.pid})\n"
    assert not agent.running()
    assert not agent.sock_path.exists() and not agent.pid_path.exists()
    assert client.run("status").returncode == 3
    assert client.run("stop").returncode == 3
    # The server heard why the session ended.
    wait_for(lambda: "reason=client_exit" in server.output(), what="CLOSE client_exit")


def test_send_through_agent(server, client, make_agent):
    agent = make_agent(client)
    assert agent.start().returncode == 0

    sent = client.run("send", "Hello, Agent!")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == "Hello, Agent!\n"
    signed = client.run("sign", "--json", "signed hello")
    assert signed.returncode == 0, signed.stderr
    env = json.loads(signed.stdout)
    assert env["payload"] == "signed hello" and env["verified"] is True
    assert env["server"] == f"127.0.0.1:{server.port}"
    assert env["server_key"] == server.fingerprint
    note = client.run("sign", "plain sign")
    assert note.stdout == "plain sign\n" and "signature verified" in note.stderr

    queued = client.run("send", "--no-wait", "fire and forget")
    assert queued.returncode == 0, queued.stderr
    assert re.fullmatch(r"\d+\n", queued.stdout)
    agent.wait_status(lambda s: s["outbox"] == 0 and s["inbox"] == 4, what="answer to --no-wait")
    assert client.run("response").stdout == "fire and forget\n"
    listed = client.run("response", "--all")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 4
    assert lines[3].endswith(f"Response to {queued.stdout.strip()}: fire and forget")
    assert payloads(client) == ["Hello, Agent!", "signed hello", "plain sign", "fire and forget"]

    # One session carried everything; every request was handled once.
    status = server.status_json()
    assert status["handshakes"]["ok"] == 1
    assert status["requests"] == {"handled": 4, "repeated": 0}
    st = agent.status()
    # And the agent's own whoami when its session came up.
    assert st["messages"] == {"in": 5, "out": 5}

    # Another server named explicitly: one-shot, not through the agent.
    other = client.run("send", "-H", "127.0.0.1", "-p", "1", "elsewhere")
    assert other.returncode == 3 and "Connection refused" in other.stderr


def test_no_wait_needs_the_agent(client):
    result = client.run("send", "--no-wait", "nobody home")
    assert result.returncode == 3
    assert "needs a running agent" in result.stderr
    assert client.run("response", "--all").returncode == 3


def test_response_follow(server, client, make_agent):
    agent = make_agent(client)
    assert agent.start().returncode == 0
    assert client.run("send", "before").returncode == 0
    follow = client.popen("response", "--all", "--follow", "--json", stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        reader = LineReader(follow)
        assert json.loads(reader.next())["payload"] == "before"
        assert client.run("send", "--no-wait", "after").returncode == 0
        line = json.loads(reader.next())
        assert line["payload"] == "after" and line["type"] == "Response"
        assert line["server_key"] == server.fingerprint
    finally:
        follow.terminate()
        follow.wait(timeout=DEADLINE)


def test_server_restart_while_agent_runs(start_server, make_client, make_agent):
    server = start_server()
    client = make_client(server)
    agent = make_agent(client)
    assert agent.start(*FAST).returncode == 0
    server.stop()
    st = agent.wait_status(lambda s: s["state"] == "reconnecting" and s["next_attempt"],
                           what="reconnecting")
    assert "closed the connection" in st["last_error"] or "refused" in st["last_error"]
    assert "reconnecting (next attempt in" in client.run("status").stdout

    for text in ("queued one", "queued two"):
        assert client.run("send", "--no-wait", text).returncode == 0
    timed = client.run("send", "--timeout", "300ms", "queued three")
    assert timed.returncode == 5
    assert "stays in the agent's outbox" in timed.stderr
    assert agent.status()["outbox"] == 3

    again = restart(start_server, server, "server1")
    st = agent.wait_status(lambda s: s["state"] == "connected" and s["outbox"] == 0,
                           what="reconnected with an empty outbox")
    assert st["reconnects"] == 1
    assert requests(again) == {"handled": 3, "repeated": 0}
    assert payloads(client) == ["queued one", "queued two", "queued three"]


def test_killed_agent_sends_its_outbox_once(start_server, make_client, make_agent):
    server = start_server()
    client = make_client(server)
    agent = make_agent(client)
    assert agent.start(*FAST).returncode == 0

    # Queued while the server is away, then the agent is killed.
    server.stop()
    agent.wait_status(lambda s: s["state"] == "reconnecting", what="reconnecting")
    ids = [client.run("send", "--no-wait", f"kept {i}").stdout.strip() for i in (1, 2)]
    agent.kill()
    # A killed agent leaves its socket behind; nobody answers on it.
    assert agent.sock_path.exists()
    assert client.run("status").returncode == 3
    server = restart(start_server, server, "server1")
    assert agent.start(*FAST).returncode == 0
    agent.wait_status(lambda s: s["outbox"] == 0 and s["inbox"] == 2, what="outbox sent")
    assert requests(server) == {"handled": 2, "repeated": 0}
    answered = [json.loads(l) for l in client.run("response", "--all", "--json").stdout.splitlines()]
    assert [a["correlation_id"] for a in answered] == [int(i) for i in ids]

    # Sent and answered, but the agent dies before it reads the answer:
    # sent again after the restart, the server answers from memory.
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        assert client.run("send", "--no-wait", "answered once").returncode == 0
        agent.wait_status(lambda s: s["in_flight"] == 1, what="message in flight")
        agent.signal(signal.SIGSTOP)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    wait_for(lambda: requests(server)["handled"] == 3, what="the server to handle it")
    agent.kill()
    assert agent.start(*FAST).returncode == 0
    agent.wait_status(lambda s: s["outbox"] == 0 and s["inbox"] == 3, what="resent and answered")
    assert requests(server) == {"handled": 3, "repeated": 1}
    assert payloads(client) == ["kept 1", "kept 2", "answered once"]


def test_server_killed_between_send_and_response(start_server, make_client, make_agent):
    server = start_server()
    client = make_client(server)
    agent = make_agent(client)
    assert agent.start(*FAST).returncode == 0
    os.kill(server.proc.pid, signal.SIGSTOP)
    waiting = client.popen("send", "survives", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        agent.wait_status(lambda s: s["in_flight"] == 1, what="message in flight")
    finally:
        server.proc.kill()
        server.proc.wait()
    again = restart(start_server, server, "server1")
    out, err = waiting.communicate(timeout=DEADLINE)
    assert waiting.returncode == 0, err
    assert out == "survives\n"
    assert requests(again) == {"handled": 1, "repeated": 0}
    assert agent.status()["reconnects"] == 1


def test_changed_server_key_is_refused(start_server, make_client, make_agent):
    first = start_server(name="first")
    client = make_client(first)
    agent = make_agent(client)
    assert agent.start(*FAST).returncode == 0
    first.stop()
    second = start_server("-p", str(first.port), name="second")
    assert second.fingerprint != first.fingerprint
    st = agent.wait_status(lambda s: "has changed" in s["last_error"], what="key refused")
    assert st["state"] == "reconnecting"
    assert second.fingerprint in st["last_error"] and first.fingerprint in st["last_error"]
    assert f"tcp_client forget 127.0.0.1:{first.port}" in st["last_error"]
    assert st["server_key"] == first.fingerprint
    assert second.status_json()["handshakes"]["ok"] == 0
    assert "has changed" in client.run("status").stdout


def test_heartbeat_notices_a_silent_server(server, client, make_agent):
    agent = make_agent(client)
    assert agent.start("--heartbeat", "1s", "--timeout", "1s", *FAST).returncode == 0
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        st = agent.wait_status(lambda s: "heartbeat" in s["last_error"], timeout=5,
                               what="heartbeat timeout")
        assert st["state"] == "reconnecting"
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    agent.wait_status(lambda s: s["state"] == "connected", what="connected again")


def test_start_failures(make_client, server):
    client = make_client()
    refused = client.run("start", "-H", "127.0.0.1", "-p", "1")
    assert refused.returncode == 3
    assert "Connection refused" in refused.stderr and "is tcp_server running?" in refused.stderr
    assert client.run("status").returncode == 3
    pinned = client.run("start", "-H", "127.0.0.1", "-p", str(server.port),
                        "--server-key", ANY_KEY)
    assert pinned.returncode == 6
    assert "server key mismatch" in pinned.stderr
    assert client.run("status").returncode == 3
    assert client.run("start", "--heartbeat", "soon").returncode == 2


def test_example_client(server):
    example = program("example_client")
    result = subprocess.run([example, "127.0.0.1", str(server.port), server.fingerprint],
                            capture_output=True, text=True, timeout=DEADLINE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "state: connecting"
    assert lines[1] == "state: connected"
    assert lines[2] == "response: hello"
    assert re.fullmatch(r"answer to \d+: async hello", lines[3])
    assert lines[4] == "state: closed - client exiting"
    wrong = subprocess.run([example, "127.0.0.1", str(server.port), ANY_KEY],
                           capture_output=True, text=True, timeout=DEADLINE)
    assert wrong.returncode == 1 and "mismatch" in wrong.stderr


def test_example_echo_server(make_client):
    # Port 0: the example prints the port it got once it listens.
    proc = subprocess.Popen([program("echo_server"), "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = LineReader(proc).next()
        port = int(re.fullmatch(r"echo_server listening on 127\.0\.0\.1:(\d+)", line).group(1))
        client = make_client()
        result = client.run("send", "-H", "127.0.0.1", "-p", str(port), "Hello")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "olleH\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0

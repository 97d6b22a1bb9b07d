"""The one-shot tcp_client against the real server."""

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

from conftest import Server


def test_send_prints_echo(client):
    result = client.run("send", "Hello, Server!")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, Server!\n"


def test_send_json_and_response(client, server):
    result = client.run("send", "--json", "as json")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    assert env["type"] == "Response"
    assert env["payload"] == "as json"
    assert env["sender"] == server.fingerprint
    assert "signature" not in env
    again = client.run("response")
    assert again.returncode == 0 and again.stdout == "as json\n"
    again_json = client.run("response", "--json")
    assert json.loads(again_json.stdout)["hash"] == env["hash"]


def test_sign_gets_verified_signed_response(client):
    result = client.run("sign", "--json", "signed hello")
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    assert env["verified"] is True
    assert env["signature"]
    plain = client.run("sign", "signed again")
    assert plain.stdout == "signed again\n"
    assert "signature verified" in plain.stderr


def test_two_hundred_concurrent_clients(server, make_client):
    clients = [make_client(server) for _ in range(200)]

    def one(i):
        return clients[i].run("send", f"message {i}", timeout=120)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(200)))
    for i, result in enumerate(results):
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"message {i}\n"
    status = server.status_json()
    assert status["handshakes"]["ok"] >= 200
    assert status["messages"]["in"] >= 200


def test_connection_refused_when_no_server(make_client):
    client = make_client()
    result = client.run("send", "-H", "127.0.0.1", "-p", "1", "anyone?")
    assert result.returncode == 3
    assert "Connection refused" in result.stderr
    assert "is tcp_server running?" in result.stderr


def test_changed_server_key_refused_until_forgotten(tmp_path, make_client):
    first = Server(tmp_path / "first", ("--handler", "echo"))
    client = make_client(first)
    assert client.run("send", "hi").returncode == 0
    port = first.port
    first.stop()
    # A different server (different key) on the same port.
    second = Server(tmp_path / "second", ("-p", str(port)))
    try:
        client.server = second
        refused = client.run("send", "hi again")
        assert refused.returncode == 6
        assert "has changed" in refused.stderr
        assert f"tcp_client forget 127.0.0.1:{port}" in refused.stderr
        assert second.status_json()["handshakes"]["ok"] == 0
        assert client.run("forget", f"127.0.0.1:{port}").returncode == 0
        accepted = client.run("send", "trusted now")
        assert accepted.returncode == 0, accepted.stderr
    finally:
        second.stop()


def test_pinned_server_key(client, server):
    good = client.run("send", "--server-key", server.fingerprint, "pinned")
    assert good.returncode == 0, good.stderr
    wrong = "SHA256:" + "A" * 43
    bad = client.run("send", "--server-key", wrong, "pinned")
    assert bad.returncode == 6


def test_timeout_exit_code(make_client):
    # A listener that accepts and never answers.
    import socket
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        client = make_client()
        result = client.run("send", "-H", "127.0.0.1", "-p", str(port), "--timeout", "500ms",
                            "hello?")
        assert result.returncode == 5
        assert "timed out" in result.stderr or "timeout" in result.stderr


def test_ack_handler_names_request_hash(start_server, make_client):
    srv = start_server("--handler", "ack")
    client = make_client(srv)
    result = client.run("send", "--json", "acknowledge me")
    env = json.loads(result.stdout)
    assert env["payload"].startswith("ack ")
    assert len(env["payload"]) == 4 + 64


def test_sign_responses_always(start_server, make_client):
    srv = start_server("--sign-responses")
    client = make_client(srv)
    env = json.loads(client.run("send", "--json", "unsigned request").stdout)
    assert env["verified"] is True


def test_error_response_exit_code(start_server, make_client):
    srv = start_server("--max-message", "1KiB")
    client = make_client(srv)
    refused = client.run("send", "x" * 2000)
    assert refused.returncode == 7
    assert refused.stdout == ""
    # The last line of stderr is the one-line reason, with the server's code.
    assert re.fullmatch(r"tcp_client: server refused the request: message of \d+ bytes "
                        r"exceeds the limit of 1024 \(too_large\)", refused.stderr.splitlines()[-1])
    as_json = json.loads(client.run("send", "--json", "x" * 2000).stdout)
    assert as_json["type"] == "Error"
    assert json.loads(as_json["payload"])["code"] == 104
    # The refusal harmed nothing: the same client is served next time.
    assert client.run("send", "small enough").stdout == "small enough\n"

"""Server limits, each refused with a clear reason while other clients
go on being served."""

import socket
import struct

from conftest import wait_for


def hello_bytes():
    name = b"Noise_XX_25519_AESGCM_SHA256"
    body = bytes([1, len(name)]) + name
    return b"TSEL" + bytes([1, 1]) + struct.pack(">H", len(body)) + body


def read_server_hello(sock):
    head = b""
    while len(head) < 8:
        chunk = sock.recv(8 - len(head))
        if not chunk:
            return None
        head += chunk
    body = b""
    length = struct.unpack(">H", head[6:8])[0]
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return head, body


def test_max_clients_rejected_in_hello(start_server, peers, make_client):
    srv = start_server("--max-clients", "2")
    client = make_client(srv)
    first, second = peers("hold", srv.port), peers("hold", srv.port)
    first.expect("established")
    second.expect("established")
    srv.wait_ready(2)
    third = peers("hold", srv.port)
    assert third.expect("rejected") == "rejected 1 server full"
    one_shot = client.run("send", "hello")
    assert one_shot.returncode == 4
    assert "server full" in one_shot.stderr
    status = srv.status_json()
    assert status["rejected"]["server_full"] == 2
    assert status["connections"]["current"] == 2
    wait_for(lambda: "reason=server_full" in srv.output(), what="the refusal to be logged")
    # The admitted clients are unaffected.
    assert srv.connections()[0]["state"] == "ready"


def test_connections_per_address_cap(start_server, peers):
    srv = start_server("--max-per-address", "1")
    first = peers("hold", srv.port)
    first.expect("established")
    second = peers("hold", srv.port)
    assert second.expect("rejected") == "rejected 6 too many connections from this address"
    assert srv.status_json()["rejected"]["too_many_from_address"] == 1
    first.kill()
    wait_for(lambda: srv.status_json()["connections"]["current"] == 0,
             what="the first connection to be released")
    third = peers("hold", srv.port)
    third.expect("established")


def test_idle_timeout_closes_with_reason(start_server, peers):
    srv = start_server("--idle-timeout", "500ms", "--heartbeat", "0")
    peer = peers("hold", srv.port)
    peer.expect("established")
    assert peer.expect("closed").startswith("closed 20")
    wait_for(lambda: "event=idle_timeout" in srv.output(), what="the idle timeout log line")


def test_heartbeat_keeps_live_client(start_server, peers):
    srv = start_server("--heartbeat", "200ms", "--idle-timeout", "0")
    peer = peers("hold", srv.port)
    peer.expect("established")
    # Several heartbeat periods pass; the peer answers pings and stays.
    wait_for(lambda: srv.status_json()["bytes"]["out"] > 600, what="a few pings")
    assert srv.connections()[0]["state"] == "ready"


def test_oversize_message_refused_connection_lives(start_server, peers):
    srv = start_server("--max-message", "64KiB", "--max-output", "1MiB")
    peer = peers("oversize", srv.port, 200000)
    peer.expect("established")
    assert peer.expect("message Error").startswith("message Error 104 0 ")
    assert peer.expect("message Response").endswith("still here")


def test_garbage_instead_of_hello(server, client):
    # client talks to the same server fixture.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_server_hello(s)
        assert answer is not None
        head, body = answer
        assert head[:4] == b"TSEL" and head[5] == 3
        assert struct.unpack(">H", body[:2])[0] == 7  # bad_hello
        assert s.recv(100) == b""
    wait_for(lambda: server.status_json()["rejected"]["bad_hello"] == 1,
             what="the bad hello to be counted")
    assert client.run("send", "after garbage").returncode == 0


def test_stalled_handshake_cut_at_timeout_others_served(start_server, make_client):
    srv = start_server("--handshake-timeout", "700ms")
    stalled = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    stalled.sendall(hello_bytes())
    assert read_server_hello(stalled)[0][5] == 2  # accepted; now we say nothing
    client = make_client(srv)
    assert client.run("send", "served meanwhile").stdout.strip() == "served meanwhile"
    stalled.settimeout(10)
    assert stalled.recv(100) == b""  # cut by the server
    stalled.close()
    wait_for(lambda: srv.status_json()["handshakes"]["failed"] >= 1,
             what="the failed handshake to be counted")
    assert "event=handshake_timeout" in srv.output()


def test_stall_before_hello_gets_timeout_reason(start_server):
    srv = start_server("--handshake-timeout", "500ms")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        head, body = read_server_hello(s)
        assert head[5] == 3
        assert struct.unpack(">H", body[:2])[0] == 19  # handshake_timeout


def test_kill_of_one_client_does_not_disturb_others(server, peers, client):
    victims = [peers("hold", server.port) for _ in range(3)]
    for v in victims:
        v.expect("established")
    survivor = peers("hold", server.port)
    survivor.expect("established")
    server.wait_ready(4)
    for v in victims:
        v.kill()
    wait_for(lambda: server.status_json()["connections"]["current"] == 1,
             what="the killed clients to be gone")
    assert client.run("send", "still fine").stdout.strip() == "still fine"
    assert server.connections()[0]["state"] == "ready"


def test_message_rate_limit(start_server, peers):
    srv = start_server("--message-rate", "1", "--message-burst", "1", "--max-message",
                       "64KiB", "--max-output", "1MiB")
    peer = peers("oversize", srv.port, 10)
    peer.expect("established")
    # The 10-byte record uses the one token (and is refused as not an
    # envelope); the request right after finds the bucket empty.
    assert peer.expect("message Error").startswith("message Error 100")
    assert peer.expect("message Error").startswith("message Error 105")


def test_rate_limit_refusal_names_the_message(start_server, peers):
    srv = start_server("--message-rate", "1", "--message-burst", "1", "--max-message",
                       "64KiB", "--max-output", "1MiB")
    peer = peers("oversize", srv.port, 10)
    peer.expect("established")
    peer.expect("message Error 100")
    # The request refused for the rate is named by its id (so a client can
    # tell which one to send again); the peer's request id is nonzero.
    refusal = peer.expect("message Error 105")
    assert int(refusal.split()[3]) != 0

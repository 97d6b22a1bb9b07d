"""Server limits, each refused with a clear reason while other clients
go on being served."""

import socket
import struct

from conftest import logged, wait_for


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


def hello_answer(sock):
    """(type, reason) of the server's answer to our hello: type 2 accepts
    (reason 0), type 3 rejects with the reason code."""
    head, body = read_server_hello(sock)
    reason = struct.unpack(">H", body[:2])[0] if head[5] == 3 else 0
    return head[5], reason


def logged_once_with_peer(srv, event):
    """Wait for the event's log line, then check it was logged once and
    names the peer address; returns the line."""
    lines = wait_for(lambda: logged(srv, event), what=f"event={event} in the log")
    assert len(lines) == 1, lines
    assert " peer=127.0.0.1:" in lines[0], lines[0]
    return lines[0]


def kernel_buffering():
    """The most the kernel may hold between the peers of one loopback
    connection, both ways: the TCP receive and send buffer maxima."""
    most = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        with open(f"/proc/sys/net/ipv4/{name}") as sysctl:
            most += int(sysctl.read().split()[2])
    return most


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
    logged_once_with_peer(srv, "connection_refused")
    # The admitted connection is untouched, and another address is served.
    srv.wait_ready(1)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                  source_address=("127.0.0.2", 0)) as other:
        other.sendall(hello_bytes())
        assert hello_answer(other) == (2, 0)
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
    assert "reason=bad_hello" in logged_once_with_peer(server, "hello_rejected")
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
    assert "state=handshake" in logged_once_with_peer(srv, "handshake_timeout")


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


def test_message_rate_limit(start_server, peers, make_client):
    srv = start_server("--message-rate", "1", "--message-burst", "1", "--max-message",
                       "64KiB", "--max-output", "1MiB")
    peer = peers("oversize", srv.port, 10)
    peer.expect("established")
    # The 10-byte record uses the one token (and is refused as not an
    # envelope); the request right after finds the bucket empty.
    assert peer.expect("message Error").startswith("message Error 100")
    refusal = peer.expect("message Error")
    assert refusal.startswith("message Error 105")
    assert "message rate limit exceeded (rate 1/s, burst 1)" in refusal
    # Other clients have budgets of their own; the limited one stays.
    assert make_client(srv).run("send", "unlimited").stdout == "unlimited\n"
    assert any(c["state"] == "ready" and c["messages_in"] == 2 for c in srv.connections())


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


def test_byte_rate_limit(start_server, peers, make_client):
    # 64 KiB at once, then 2 KiB a second: three 20000-byte requests fit,
    # the fourth does not, and refilling 15 KB would take seconds.
    srv = start_server("--byte-rate", "2KiB", "--byte-burst", "64KiB", "--max-message",
                       "64KiB", "--max-output", "1MiB")
    assert srv.status_json()["limits"]["byte_burst"] == 65536
    peer = peers("control", srv.port)
    peer.expect("established")
    peer.tell("request 20000 4")
    ids = [int(i) for i in peer.expect("sent").split()[1:]]
    # Answers are matched by correlation id: a refusal can overtake the
    # answers of requests still waiting for the sender's key lookup.
    answers = {}
    for _ in ids:
        kind, code, corr, payload = peer.expect("message ").split(" ", 4)[1:]
        answers[int(corr)] = (kind, int(code), payload)
    for request_id in ids[:3]:
        assert answers[request_id][:2] == ("Response", 0)
        assert answers[request_id][2].startswith("still here")
    assert answers[ids[3]][:2] == ("Error", 105)
    assert "byte rate limit exceeded (rate 2048 bytes/s, burst 65536 bytes)" in answers[ids[3]][2]
    line = logged_once_with_peer(srv, "message_refused")
    assert "reason=message_rate" in line and f"id={ids[3]}" in line
    # The connection lives: a small request fits what is left.
    peer.tell("request 100")
    small = int(peer.expect("sent").split()[1])
    assert peer.expect("message ").startswith(f"message Response 0 {small} still here")
    # Another client is served meanwhile.
    assert make_client(srv).run("send", "not limited").stdout == "not limited\n"


def test_slow_reader_cut_off_with_reason(start_server, peers, make_client):
    max_output = 128 * 1024
    srv = start_server("--max-message", "64KiB", "--max-output", "128KiB")
    bystander = peers("hold", srv.port)
    bystander.expect("established")
    # The reader sends more requests than the kernel can hold in both
    # directions plus max_output, reading nothing: by the time it is done
    # the server must have queued max_output of answers and cut it off.
    total = kernel_buffering() + 4 * max_output
    reader = peers("flood", srv.port, total, 32000)
    reader.expect("established")
    reader.expect("flooded")
    # Once it reads, it finds the answers that were queued, then the reason.
    assert reader.expect("closed") == "closed 22 not reading fast enough; output queue full"
    assert int(reader.expect("responses").split()[1]) > 0
    reader.expect("eof")
    line = logged_once_with_peer(srv, "slow_consumer")
    queued = int(line.split(" queued=")[1].split()[0])
    assert 0 < queued <= max_output, line
    # Others are served, and the slow reader is gone.
    wait_for(lambda: srv.status_json()["connections"]["current"] == 1,
             what="the slow reader to be gone")
    assert srv.connections()[0]["state"] == "ready"
    assert make_client(srv).run("send", "after the flood").stdout == "after the flood\n"


def test_unanswered_heartbeats_close_with_reason(start_server, peers):
    srv = start_server("--heartbeat", "300ms", "--idle-timeout", "0")
    live = peers("hold", srv.port)
    live.expect("established")
    deaf = peers("deaf", srv.port)
    deaf.expect("established")
    assert deaf.expect("closed") == "closed 20 no answer to heartbeat"
    logged_once_with_peer(srv, "heartbeat_timeout")
    # The peer that answers its pings stays.
    wait_for(lambda: srv.status_json()["connections"]["current"] == 1,
             what="the deaf peer to be gone")
    assert srv.connections()[0]["state"] == "ready"


def test_connect_rate_limited_in_hello(start_server):
    srv = start_server("--connect-rate", "1")
    # One new connection a second from an address: of three opened at once
    # the first is admitted and the others refused in the hello.
    socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(3)]
    try:
        for s in socks:
            s.sendall(hello_bytes())
        answers = [hello_answer(s) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert answers[0] == (2, 0)
    assert (3, 4) in answers[1:]  # rate_limited
    assert srv.status_json()["rejected"]["rate_limited"] >= 1
    assert "reason=rate_limited" in logged(srv, "connection_refused")[0]
    # Another address has a budget of its own.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                  source_address=("127.0.0.2", 0)) as other:
        other.sendall(hello_bytes())
        assert hello_answer(other) == (2, 0)

    # The address is admitted again once its budget refills.
    def admitted():
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(hello_bytes())
            return hello_answer(s)[0] == 2
    wait_for(admitted, interval=0.2, what="the connection budget to refill")


def test_tampered_frame_closes_with_reason_others_served(server, peers, client):
    bystander = peers("hold", server.port)
    bystander.expect("established")
    tamperer = peers("tamper", server.port)
    tamperer.expect("established")
    assert tamperer.expect("closed") == "closed 18 a frame failed authentication"
    tamperer.expect("eof")
    line = logged_once_with_peer(server, "protocol_error")
    assert "failed authentication" in line
    assert client.run("send", "unharmed").stdout == "unharmed\n"
    wait_for(lambda: server.status_json()["connections"]["current"] == 1,
             what="the tampering peer to be gone")
    assert server.connections()[0]["state"] == "ready"


def test_bad_handshake_closed_and_counted_others_served(server, peers, client):
    bystander = peers("hold", server.port)
    bystander.expect("established")
    # The peer believes it is done; the server cannot authenticate message
    # 3 and hangs up (no keys yet to send a reason with).
    spoiled = peers("badhandshake", server.port)
    spoiled.expect("established")
    spoiled.expect("eof")
    assert all(not line.startswith("message") for line in spoiled.seen)
    wait_for(lambda: server.status_json()["handshakes"]["failed"] == 1,
             what="the failed handshake to be counted")
    logged_once_with_peer(server, "handshake_failed")
    assert client.run("send", "unharmed").stdout == "unharmed\n"
    assert server.status_json()["handshakes"]["ok"] == 2

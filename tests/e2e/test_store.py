"""The durable store end to end (docs/store.md): acknowledged chat messages
survive a kill -9 of the server under load, each stored exactly once, with
a hash chain `tcp_server verify-db` accepts; a row edited by hand behind
the server's back is named by verify-db; a damaged chain head keeps the
server from starting.

A Chat resent with the same sender and sequence number (as the agent does
after a reconnect) is stored once and answered with the original Ack:
tests/unit/test_service.c, test_history_paging_and_duplicate_chat, sends
the same envelope twice; tests/unit/test_store.c covers duplicates in one
batch and across batches. Here the senders' agents resend whatever was in
flight when the server died, and the count of each message in the history
is checked."""

import json
import re
import signal
import sqlite3
import subprocess
import threading

from conftest import DEADLINE, logged, program

CHEAP = ("--password-memory", "8KiB", "--password-passes", "1")
PASSWORD = "correct horse"
FAST = ("--reconnect-initial", "50ms", "--reconnect-max", "300ms")
SENDERS = 4          # users, each with an agent
LANES = 3            # concurrent `say` loops per agent
PER_LANE = 15
KILL_AFTER_ACKS = 40


def device(make_client, server, name):
    client = make_client(server, name=name)
    client.env.pop("TCPSEAL_PASSWORD", None)
    return client


def register(client, user):
    result = client.run("register", user, env={"TCPSEAL_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr


def stored(server, *args):
    """Every stored message, oldest first, as tcp_server history --json
    shows them."""
    result = server.ctl("history", "--json", "-n", "1000000", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def verify(server, *args):
    result = server.ctl("verify-db", "--json", *args)
    return result.returncode, json.loads(result.stdout)


class Sender(threading.Thread):
    """One lane of a user's load: says PER_LANE numbered messages through
    the user's agent, one at a time, recording each acknowledgement (the
    stored id) and every other outcome."""

    def __init__(self, client, user, lane, acked_total):
        super().__init__(daemon=True)
        self.client, self.user = client, user
        self.texts = [f"{user} lane {lane} message {n}" for n in range(PER_LANE)]
        self.acked_total = acked_total
        self.acks = {}        # text -> stored id
        self.others = {}      # text -> (status, stderr)

    def run(self):
        for text in self.texts:
            result = self.client.run("say", "--json", "--timeout", "15s", text, timeout=30)
            if result.returncode == 0:
                self.acks[text] = json.loads(result.stdout)["id"]
                self.acked_total.release()
            else:
                self.others[text] = (result.returncode, result.stderr)


def test_kill9_under_load_keeps_every_acknowledged_message_once(start_server, make_client,
                                                               make_agent):
    server = start_server(*CHEAP, name="store")
    clients = []
    for i in range(SENDERS):
        client = device(make_client, server, f"sender{i}")
        register(client, f"sender{i}")
        agent = make_agent(client)
        started = agent.start(*FAST)
        assert started.returncode == 0, started.stderr
        clients.append((client, agent))

    acked = threading.Semaphore(0)
    senders = [Sender(c, f"sender{i}", lane, acked)
               for i, (c, _) in enumerate(clients) for lane in range(LANES)]
    for s in senders:
        s.start()
    # Mid-stream: once some messages are acknowledged, with every lane
    # still going and messages in flight.
    for _ in range(KILL_AFTER_ACKS):
        assert acked.acquire(timeout=30), "the senders stalled before the kill"
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    acked_before_kill = sum(len(s.acks) for s in senders)
    total = SENDERS * LANES * PER_LANE
    assert acked_before_kill < total, "the load ended before the kill"

    # Same state directory, same port: the agents find it again and resend
    # what was in flight.
    again = start_server(*CHEAP, "-p", str(server.port), name="store")
    for s in senders:
        s.join(timeout=120)
        assert not s.is_alive(), "a sender did not finish"
    for client, agent in clients:
        st = agent.wait_status(lambda st: st["state"] == "connected" and st["outbox"] == 0,
                               what=f"{client.state_dir.name}'s outbox to drain")
        assert st["reconnects"] >= 1

    rows = stored(again)
    by_text = {}
    for row in rows:
        by_text.setdefault(row["payload"], []).append(row)
    # Every acknowledged message is there once, at the id its Ack named.
    acks = {text: sid for s in senders for text, sid in s.acks.items()}
    assert len(acks) > acked_before_kill
    for text, sid in acks.items():
        assert len(by_text.get(text, [])) == 1, (text, by_text.get(text))
        assert by_text[text][0]["stored_id"] == sid, text
    # Nothing is stored twice, and what was not acknowledged in time (its
    # `say` gave up) was resent by its agent and stored once as well.
    assert all(len(v) == 1 for v in by_text.values())
    for s in senders:
        for text, (status, err) in s.others.items():
            assert status == 5, (text, status, err)
            assert len(by_text.get(text, [])) == 1, text
    assert len(rows) == total
    # The history is in acceptance order with ids from 1 and no gaps, and
    # each lane's messages are stored in the order they were said.
    assert [row["stored_id"] for row in rows] == list(range(1, total + 1))
    for s in senders:
        lane = set(s.texts)
        assert [row["payload"] for row in rows if row["payload"] in lane] == s.texts
        assert all(row["sender"] == s.user for row in rows if row["payload"] in lane)

    status, result = verify(again)
    assert status == 0, result
    assert result["ok"] is True and result["rows"] == total
    # A message the server had stored before it died but not yet
    # acknowledged comes again: it is logged as a repeat and answered
    # with its first Ack (so it still appears once above). At most one
    # per lane was in flight.
    assert len(logged(again, "chat_repeated")) <= len(senders)


def make_history(start_server, make_client, tmp_path):
    """A stopped server whose store holds six messages: alice's signed
    ones, an unsigned one, bob's, and a direct message; returns the server
    and the rows."""
    server = start_server(*CHEAP, name="tamper")
    alice = device(make_client, server, "alice")
    bob = device(make_client, server, "bob")
    register(alice, "alice")
    register(bob, "bob")
    for client, args in ((alice, ("say", "first")), (alice, ("say", "second")),
                         (alice, ("say", "--no-sign", "third, unsigned")),
                         (bob, ("say", "fourth")), (alice, ("say", "fifth")),
                         (bob, ("dm", "alice", "sixth, direct"))):
        result = client.run(*args)
        assert result.returncode == 0, result.stderr
    rows = stored(server)
    assert [r["payload"] for r in rows] == ["first", "second", "third, unsigned", "fourth",
                                           "fifth", "sixth, direct"]
    assert server.stop() == 0
    return server, rows


def edited_copy(server, tmp_path, name, sql, *params):
    """A copy of the stopped server's store with one statement applied."""
    path = tmp_path / f"{name}.db"
    # SQLite's backup takes what a -wal file beside the store still holds.
    source, db = sqlite3.connect(server.state_dir / "tcpseal.db"), sqlite3.connect(path)
    source.backup(db)
    source.close()
    with db:
        assert db.execute(sql, params).rowcount == 1
    db.close()
    return path


def envelope(path, row):
    db = sqlite3.connect(path)
    try:
        return bytearray(db.execute("SELECT envelope FROM messages WHERE id = ?",
                                    (row,)).fetchone()[0])
    finally:
        db.close()


def test_edited_row_named_by_verify_db(start_server, make_client, tmp_path):
    server, rows = make_history(start_server, make_client, tmp_path)
    status, result = verify(server)
    assert status == 0 and result["ok"] is True and result["rows"] == 6
    head = result["head"]
    human = server.ctl("verify-db")
    assert human.returncode == 0
    assert human.stdout == ("verified 6 messages: hashes, signatures and chain are intact\n"
                            f"chain head {head}\n")
    original = server.state_dir / "tcpseal.db"

    def payload_edit(row, old, new):
        env = envelope(original, row)
        at = env.find(old.encode())
        assert at > 0
        env[at:at + len(old)] = new.encode()
        return ("UPDATE messages SET envelope = ? WHERE id = ?", bytes(env), row)

    def last_byte_flip(row):
        env = envelope(original, row)
        env[-1] ^= 0x01
        return ("UPDATE messages SET envelope = ? WHERE id = ?", bytes(env), row)

    cases = [
        ("payload", payload_edit(2, "second", "SECOND"), 2,
         "hash: the envelope's fields do not match its hash"),
        ("signature", last_byte_flip(4), 4,
         "signature: does not verify against the row's sender key"),
        ("hash", ("UPDATE messages SET hash = zeroblob(32) WHERE id = ?", 5), 5,
         "hash: the stored hash differs from the envelope's"),
        ("chain", ("UPDATE messages SET chain = zeroblob(32) WHERE id = ?", 3), 3,
         "chain: the stored chain value differs from the recomputed one"),
        ("deleted", ("DELETE FROM messages WHERE id = ?", 3), 3, "chain: row 3 is missing"),
        ("sender", ("UPDATE messages SET sender = 'bob' WHERE id = ?", 1), 1,
         "sender: the row's sender differs from the envelope's"),
        ("room", ("UPDATE messages SET room = 'secret' WHERE id = ?", 5), 5,
         "recipient: the row's room differs from the envelope's recipient"),
        ("recipient", ("UPDATE messages SET recipient = 'bob' WHERE id = ?", 6), 6,
         "recipient: the row's recipient differs from the envelope's"),
    ]
    for name, (sql, *params), row, problem in cases:
        path = edited_copy(server, tmp_path, name, sql, *params)
        status, result = verify(server, "--store", str(path))
        assert status == 1, (name, result)
        assert result == {"ok": False, "rows": row - 1, "bad_row": row, "problem": problem}, name
        human = server.ctl("verify-db", "--store", str(path))
        assert human.returncode == 1
        intact = "1 row before it is intact" if row == 2 else \
            f"{row - 1} rows before it are intact"
        assert human.stdout == f"row {row} does not match: {problem}\n({intact})\n", name

    # The untouched store still verifies, with the same head.
    status, result = verify(server)
    assert status == 0 and result["head"] == head


def test_damaged_chain_head_keeps_server_from_starting(start_server, make_client, tmp_path):
    server, rows = make_history(start_server, make_client, tmp_path)
    db = sqlite3.connect(server.state_dir / "tcpseal.db")
    with db:
        db.execute("UPDATE messages SET chain = x'00' WHERE id = 6")
    db.close()
    result = subprocess.run([program("tcp_server"), "start", "-H", "127.0.0.1", "-p", "0",
                             "--state-dir", str(server.state_dir), *CHEAP],
                            capture_output=True, text=True, env=server.env, timeout=DEADLINE)
    assert result.returncode == 1
    assert "message 6 has a damaged chain value; run tcp_server verify-db" in result.stderr
    # The reason reaches the operator, not only the log.
    assert re.search(r"tcp_server: cannot start the server: store \S+tcpseal.db: message 6 "
                     r"has a damaged chain value", result.stderr), result.stderr
    status, verdict = verify(server)
    assert status == 1 and verdict["bad_row"] == 6


def test_history_shows_stored_text_as_data(start_server, make_client):
    server = start_server(*CHEAP)
    alice = device(make_client, server, "alice")
    register(alice, "alice")
    sneaky = "red \x1b[31malert\x1b[0m bell\x07 \u202eevil\u202c end"
    sql = "'); DROP TABLE messages; --"
    for text in (sneaky, sql):
        result = alice.run("say", text)
        assert result.returncode == 0, result.stderr
    # JSON keeps the text exactly; the lines for people show no control
    # character the terminal would act on.
    assert [r["payload"] for r in stored(server)] == [sneaky, sql]
    human = server.ctl("history")
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("alice -> #lobby: red ?[31malert?[0m bell? ?evil? end")
    assert lines[1].endswith(f"alice -> #lobby: {sql}")
    assert not any(ch in human.stdout for ch in "\x1b\x07\u202e\u202c")
    by_room = server.ctl("history", "--room", "lobby", "-n", "1")
    assert by_room.returncode == 0
    assert by_room.stdout.splitlines() == lines[1:]
    status, result = verify(server)
    assert status == 0 and result["rows"] == 2

"""Multi-user chat end to end: rooms and their events, the users list,
direct messages that wait for their recipient, history and its paging,
signatures checked by the recipient, the interactive chat on a
pseudo-terminal, and chat through the agent across a server restart."""

import json
import signal
import sqlite3
import subprocess

import pexpect
import pytest

from conftest import DEADLINE, LineReader, program, wait_for

# Argon2id at its cheapest: these tests are about chat, not password cost.
CHEAP = ("--password-memory", "8KiB", "--password-passes", "1")


@pytest.fixture
def chat_server(start_server):
    return start_server(*CHEAP)


def registered(make_client, server, user, password=None):
    client = make_client(server, name=user)
    password = password or f"{user}-password"
    result = client.run("register", user, env={"TCPSEAL_PASSWORD": password})
    assert result.returncode == 0, result.stderr
    assert f"registered {user}" in result.stdout
    return client


def users(client, *args):
    result = client.run("users", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["users"]


class Listener:
    """tcp_client listen --json in the background, read line by line."""

    def __init__(self, client, *args):
        self.proc = client.popen("listen", "--json", *args, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        self.reader = LineReader(self.proc)

    def next_where(self, check, what):
        while True:
            line = json.loads(self.reader.next())
            if check(line):
                return line

    def message(self, payload):
        return self.next_where(lambda l: l.get("type") == "Chat" and l["payload"] == payload,
                               f"message {payload!r}")

    def event(self, kind, user):
        return self.next_where(lambda l: l.get("type") == "Event" and
                               l["event"]["event"] == kind and l["event"]["user"] == user,
                               f"{kind} of {user}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=DEADLINE)
        return self.proc.returncode


@pytest.fixture
def listeners():
    started = []

    def start(client, *args):
        listener = Listener(client, *args)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        if listener.proc.poll() is None:
            listener.proc.kill()
            listener.proc.wait()


def test_two_users_in_a_room_events_and_users(chat_server, make_client, listeners):
    alice = registered(make_client, chat_server, "alice")
    bob = registered(make_client, chat_server, "bob")
    heard = listeners(bob)
    wait_for(lambda: users(alice, "--room", "lobby") == ["bob"], what="bob in the lobby")
    # Online means a device that receives: bob's listener, not a command
    # that runs and leaves.
    assert users(alice) == ["bob"]

    said = alice.run("say", "Hello, bob!")
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith("#lobby: acknowledged as message 1 (")

    # alice's one-shot command joined, spoke and left; bob saw all of it.
    joined = heard.event("join", "alice")
    assert joined["event"]["room"] == "lobby"
    assert joined["event"]["users"] == ["alice", "bob"]
    msg = heard.message("Hello, bob!")
    assert msg["sender"] == "alice" and msg["room"] == "lobby"
    assert msg["signed"] is True and msg["verified"] is True and msg["verdict"] == "verified"
    left = heard.event("leave", "alice")
    assert left["event"]["users"] == ["bob"]

    # An unsigned message is shown as such, not as verified.
    assert alice.run("say", "--no-sign", "plain").returncode == 0
    plain = heard.message("plain")
    assert plain["signed"] is False and plain["verdict"] == "unsigned"

    # Other rooms stay apart: bob does not hear #dev.
    assert alice.run("say", "--room", "dev", "elsewhere").returncode == 0
    assert alice.run("say", "back in the lobby").returncode == 0
    assert heard.message("back in the lobby")["room"] == "lobby"
    assert heard.stop() == 0


def test_message_to_a_room_needs_a_login(chat_server, make_client):
    stranger = make_client(chat_server)
    result = stranger.run("say", "who am I?")
    assert result.returncode != 0
    assert "not logged in" in result.stderr
    assert "register USER" in result.stderr


def test_direct_message_waits_for_its_recipient(chat_server, make_client, listeners):
    alice = registered(make_client, chat_server, "alice")
    bob = registered(make_client, chat_server, "bob")
    sent = alice.run("dm", "bob", "while you were out")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("bob: acknowledged as message")
    nobody = alice.run("dm", "nosuchuser", "anyone?")
    assert nobody.returncode == 7 and "message failed" in nobody.stderr

    # A command of bob's that runs and leaves does not take it away...
    assert bob.run("whoami").stdout.startswith("bob ")
    # ...a device that receives gets it, once.
    heard = listeners(bob)
    msg = heard.message("while you were out")
    assert msg["sender"] == "alice" and msg["recipient"] == "bob" and msg["room"] is None
    assert msg["verdict"] == "verified"
    # Sent live now that bob is online.
    assert alice.run("dm", "bob", "now you are here").returncode == 0
    heard.message("now you are here")
    assert heard.stop() == 0
    again = listeners(bob)
    assert alice.run("dm", "bob", "third").returncode == 0
    # The first line of the new listener is the new message, not a replay.
    assert again.next_where(lambda l: l.get("type") == "Chat", "a message")["payload"] == "third"


def test_history_and_paging(chat_server, make_client):
    alice = registered(make_client, chat_server, "alice")
    bob = registered(make_client, chat_server, "bob")
    for i in range(7):
        assert alice.run("say", f"message {i}").returncode == 0, i

    def history(*args):
        result = bob.run("history", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    newest = history("-n", "3")
    assert [m["payload"] for m in newest] == ["message 4", "message 5", "message 6"]
    assert all(m["verdict"] == "verified" and m["sender"] == "alice" for m in newest)
    older = history("-n", "3", "--before", str(newest[0]["stored_id"]))
    assert [m["payload"] for m in older] == ["message 1", "message 2", "message 3"]
    assert [m["payload"] for m in history()] == [f"message {i}" for i in range(7)]

    text = bob.run("history", "-n", "2")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 2 and lines[1].endswith("alice: message 6")
    assert f"--before {newest[1]['stored_id']}" in text.stderr

    empty = bob.run("history", "--room", "quiet", "--json")
    assert empty.returncode == 0 and empty.stdout == ""
    bad = bob.run("history", "--room", "Not A Room")
    assert bad.returncode == 7 and "history failed" in bad.stderr


def test_recipient_flags_a_forged_signature(chat_server, start_server, make_client):
    """The server stores what senders signed; a recipient checks the
    signature against the sender's registered keys itself, so a message
    whose signature was changed after it left the sender is flagged."""
    alice = registered(make_client, chat_server, "alice")
    bob = registered(make_client, chat_server, "bob")
    for text in ("first", "second", "third"):
        assert alice.run("say", text).returncode == 0
    port, state = chat_server.port, chat_server.state_dir
    chat_server.stop()
    with sqlite3.connect(state / "tcpseal.db") as db:
        (envelope,) = db.execute("SELECT envelope FROM messages WHERE id = 2").fetchone()
        forged = envelope[:-1] + bytes([envelope[-1] ^ 1])  # the signature's last byte
        db.execute("UPDATE messages SET envelope = ? WHERE id = 2", (forged,))
    server = start_server(*CHEAP, "-p", str(port), name=state.name)

    result = bob.run("history", "--json")
    assert result.returncode == 0, result.stderr
    verdicts = {m["payload"]: m["verdict"] for m in map(json.loads, result.stdout.splitlines())}
    assert verdicts == {"first": "verified", "second": "bad_signature", "third": "verified"}
    shown = bob.run("history").stdout.splitlines()
    assert "\u2717 alice: second  [signature does not verify" in shown[1]
    assert "\u2713 alice: first" in shown[0]
    assert server.ctl("verify-db").returncode != 0


def test_interactive_chat_on_a_terminal(chat_server, make_client, listeners):
    alice = registered(make_client, chat_server, "alice")
    bob = registered(make_client, chat_server, "bob")
    assert bob.run("say", "before alice came").returncode == 0
    heard = listeners(bob)
    wait_for(lambda: "bob" in users(alice), what="bob online")

    term = pexpect.spawn(program("tcp_client"),
                         ["chat", "-H", "127.0.0.1", "-p", str(chat_server.port)],
                         env=alice.env, encoding="utf-8", timeout=DEADLINE,
                         dimensions=(24, 200))
    try:
        term.expect_exact("-- alice on 127.0.0.1:")
        # The room's history comes first, with verification marks.
        term.expect_exact("\u2713 bob: before alice came")
        term.expect_exact("[#lobby] alice> ")

        term.sendline("hi from the terminal")
        assert heard.message("hi from the terminal")["verdict"] == "verified"

        # A message arriving while alice types does not eat her line.
        term.send("half a li")
        term.expect_exact("half a li")
        assert bob.run("say", "interrupting").returncode == 0
        term.expect_exact("\u2713 bob: interrupting")
        term.expect_exact("[#lobby] alice> half a li")
        term.sendline("ne")
        assert heard.message("half a line")["sender"] == "alice"

        term.sendline("/users")
        term.expect(r"-- in #lobby: alice, bob")
        term.sendline("/history 2")
        term.expect_exact("\u2713 alice: half a line")
        term.sendline("/sign off")
        term.expect_exact("-- messages you send are not signed")
        term.sendline("unsigned now")
        assert heard.message("unsigned now")["verdict"] == "unsigned"
        term.sendline("/msg bob just for you")
        assert heard.message("just for you")["recipient"] == "bob"
        term.sendline("/bogus")
        term.expect_exact("-- unknown command /bogus")
        term.sendline("/join dev")
        term.expect_exact("-- joined #dev (alice)")
        term.expect_exact("[#dev] alice> ")
        term.sendline("/leave")
        term.expect_exact("-- left #dev")
        term.expect_exact("[#lobby] alice> ")
        term.sendline("/quit")
        term.expect(pexpect.EOF)
    finally:
        term.close()
    assert term.exitstatus == 0
    heard.event("leave", "alice")


def test_chat_reads_plain_lines_without_a_terminal(chat_server, make_client, listeners):
    alice = registered(make_client, chat_server, "alice")
    bob = registered(make_client, chat_server, "bob")
    heard = listeners(bob)
    wait_for(lambda: "bob" in users(alice), what="bob online")
    result = alice.run("chat", input="from a pipe\n/msg bob psst\nexit\n")
    assert result.returncode == 0, result.stderr
    assert heard.message("from a pipe")["sender"] == "alice"
    assert heard.message("psst")["recipient"] == "bob"


def test_chat_through_the_agent_across_a_server_restart(start_server, make_client,
                                                        make_agent, listeners):
    server = start_server(*CHEAP)
    alice = registered(make_client, server, "alice")
    bob = registered(make_client, server, "bob")
    agent = make_agent(bob)
    fast = ("--reconnect-initial", "100ms", "--reconnect-max", "300ms", "--heartbeat", "2s")
    assert agent.start(*fast).returncode == 0
    heard = listeners(bob)  # through the agent: its session, its inbox

    sent = bob.run("say", "via the agent")
    assert sent.returncode == 0, sent.stderr
    assert "acknowledged as message" in sent.stdout
    assert alice.run("dm", "bob", "to the agent").returncode == 0
    assert heard.message("to the agent")["verdict"] == "verified"

    # The server goes away; what bob says meanwhile waits in the outbox
    # and is stored once, in order, after the agent reconnects.
    port, state = server.port, server.state_dir
    server.stop()
    agent.wait_status(lambda s: s["state"] == "reconnecting", what="reconnecting")
    # Each says it had no answer in time and that the message stays queued.
    waited = [bob.run("say", "--timeout", "200ms", t) for t in ("queued 1", "queued 2")]
    assert [r.returncode for r in waited] == [5, 5], [r.stderr for r in waited]
    assert all("stays in the agent's outbox" in r.stderr for r in waited)
    server = start_server(*CHEAP, "-p", str(port), name=state.name)
    agent.wait_status(lambda s: s["state"] == "connected" and s["outbox"] == 0,
                      what="reconnected and sent")
    history = [json.loads(l) for l in alice.run("history", "--json").stdout.splitlines()]
    assert [m["payload"] for m in history] == ["via the agent", "queued 1", "queued 2"]

    # The agent rejoined the lobby: alice's new message reaches bob.
    assert alice.run("say", "after the restart").returncode == 0
    assert heard.message("after the restart")["sender"] == "alice"
    assert server.ctl("verify-db").returncode == 0

"""Accounts end to end (docs/chat.md, "Accounts" and "Names"; docs/protocol.md
section 10.1): register, login, logout, whoami and passwd from tcp_client;
login by key; wrong passwords, backoff and lockout; bad user names; the
[accounts] policy; and the operator's commands (tcp_server users, useradd,
userdel, passwd, lock, unlock).

Every refusal is checked for its words and for what it left alone: the
server keeps serving and the other accounts keep working."""

import json
import subprocess
import time

from conftest import DEADLINE, logged, program, wait_for

# Argon2id as cheap as the server allows: these tests are about behaviour.
CHEAP = ("--password-memory", "8KiB", "--password-passes", "1")
PASSWORD = "correct horse"
OTHER_PASSWORD = "battery staple"


def account_server(start_server, *extra, **kwargs):
    return start_server(*CHEAP, *extra, **kwargs)


def device(make_client, server, name=None):
    """A tcp_client state directory (one device) that never inherits a
    password from the environment of the test run."""
    client = make_client(server, name=name)
    for var in ("TCPSEAL_PASSWORD", "TCPSEAL_NEW_PASSWORD"):
        client.env.pop(var, None)
    return client


def with_password(client, command, *args, password=PASSWORD, new=None):
    env = {"TCPSEAL_PASSWORD": password}
    if new is not None:
        env["TCPSEAL_NEW_PASSWORD"] = new
    return client.run(command, *args, env=env)


def errors(result):
    """What a command said on stderr, log lines left out."""
    return [line for line in result.stderr.splitlines() if not line.startswith("time=")]


def refused(result, command, text, reason):
    """A server refusal as tcp_client reports it: status 7 and one line."""
    assert result.returncode == 7, (result.returncode, result.stdout, result.stderr)
    assert f"tcp_client: {command} failed: {text} ({reason})" in errors(result), result.stderr


def whoami(client):
    result = client.run("whoami", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def users(server):
    result = server.ctl("users", "--json")
    assert result.returncode == 0, result.stderr
    return {u["user"]: u for u in json.loads(result.stdout)}


BACKOFF = "too many failed logins from this address"


def attempt(client, user, password, *flags):
    """One login once the address may try again: attempts refused for the
    per-address backoff (250 ms after a failure, doubling) are repeated
    until one is judged; returns it, how long it took and the backoff
    refusals seen."""
    waited = []

    def judged():
        started = time.monotonic()
        result = with_password(client, "login", *flags, user, password=password)
        elapsed = time.monotonic() - started
        if BACKOFF in result.stdout or any(BACKOFF in line for line in errors(result)):
            waited.append(result)
            return None
        return result, elapsed

    (result, elapsed) = wait_for(judged, interval=0.05, what=f"the login backoff for {user}")
    return result, elapsed, waited


def test_register_whoami_logout_passwd(start_server, make_client):
    server = account_server(start_server)
    phone = device(make_client, server, "phone")
    before = whoami(phone)
    assert before["user"] is None and before["anonymous"] is True

    reg = with_password(phone, "register", "alice")
    assert reg.returncode == 0, reg.stderr
    assert reg.stdout == "registered alice; this device is logged in as alice\n"
    assert logged(server, "user_registered")[0].endswith("user=alice")

    # The key logs the device in from now on: no password anywhere.
    me = whoami(phone)
    assert me["user"] == "alice" and me["anonymous"] is False
    assert me["fingerprint"] == before["fingerprint"]
    human = phone.run("whoami")
    assert human.returncode == 0
    assert human.stdout.startswith(f"alice (device {me['fingerprint']}")
    said = phone.run("say", "--json", "no password needed")
    assert said.returncode == 0, said.stderr
    assert json.loads(said.stdout)["to"] == "#lobby"

    # A logged-in device cannot register again; a taken name stays taken.
    refused(with_password(phone, "register", "alice2"), "register",
            "this device is logged in already; log out first", "not_allowed")
    laptop = device(make_client, server, "laptop")
    refused(with_password(laptop, "register", "alice", password=OTHER_PASSWORD), "register",
            "that user name is taken", "already_exists")
    assert whoami(laptop)["user"] is None

    # passwd wants a long enough new password and the current one.
    refused(with_password(phone, "passwd", password=PASSWORD, new="short"), "passwd",
            "passwords are at least 8 characters long", "invalid_argument")
    refused(with_password(phone, "passwd", password="not the password", new=OTHER_PASSWORD),
            "passwd", "wrong password", "auth_failed")
    assert any("user=alice" in line for line in logged(server, "passwd_failed"))
    # The wrong current password made the address wait: retry until judged.
    changed = wait_for(lambda: (lambda r: r if BACKOFF not in r.stderr else None)(
        with_password(phone, "passwd", password=PASSWORD, new=OTHER_PASSWORD)),
        interval=0.05, what="passwd after the backoff")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout == "password changed\n"
    old, _, _ = attempt(laptop, "alice", PASSWORD)
    refused(old, "login", "wrong user name or password", "auth_failed")
    new, _, _ = attempt(laptop, "alice", OTHER_PASSWORD)
    assert new.returncode == 0, new.stderr
    assert new.stdout == "logged in as alice; this device's key is now bound to the account\n"
    assert users(server)["alice"]["keys"] == 2

    # Logout unbinds this key only: the other device stays logged in.
    out = phone.run("logout")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "logged out; this device's key is no longer bound to an account\n"
    assert whoami(phone)["user"] is None
    refused(phone.run("logout"), "logout", "log in first", "login_required")
    assert whoami(laptop)["user"] == "alice"
    assert users(server)["alice"]["keys"] == 1


def test_second_device_login_binds_its_key(start_server, make_client):
    server = account_server(start_server)
    first, second = device(make_client, server), device(make_client, server)
    assert with_password(first, "register", "alice").returncode == 0
    assert whoami(second)["user"] is None

    login = with_password(second, "login", "--json", "alice")
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout) == {"ok": True, "user": "alice"}
    # Bound: a new connection of the second device is alice without a password.
    me = whoami(second)
    assert me["user"] == "alice"
    assert me["fingerprint"] != whoami(first)["fingerprint"]
    assert users(server)["alice"]["keys"] == 2

    # A device bound to one account cannot be bound to another.
    assert with_password(make_client(server), "register", "bob").returncode == 0
    taken, _, _ = attempt(second, "bob", PASSWORD)
    refused(taken, "login", "this device's key belongs to another account; log out there first",
            "not_allowed")
    assert whoami(second)["user"] == "alice"
    assert users(server)["bob"]["keys"] == 1


def test_wrong_password_same_answer_whether_or_not_user_exists(start_server, make_client):
    # A real Argon2id cost here, so that skipping it for an unknown name
    # would show in the time an answer takes.
    server = start_server("--password-memory", "32MiB", "--password-passes", "2")
    owner = device(make_client, server)
    assert with_password(owner, "register", "alice").returncode == 0
    stranger = device(make_client, server)

    answers, payloads, times = {}, {}, {"alice": [], "nobody": []}
    for user, flags in (("alice", ()), ("nobody", ()), ("alice", ("--json",)),
                        ("nobody", ("--json",))):
        result, elapsed, _ = attempt(stranger, user, "guessed password", *flags)
        times[user].append(elapsed)
        if flags:
            assert result.returncode == 7
            payloads.setdefault(user, set()).add(json.loads(result.stdout)["payload"])
        else:
            refused(result, "login", "wrong user name or password", "auth_failed")
            answers[user] = [line for line in errors(result) if "login failed" in line]
    # Word for word the same answer: the reply does not tell whether the
    # name exists.
    assert answers["alice"] == answers["nobody"]
    assert payloads["alice"] == payloads["nobody"] == {
        json.dumps({"code": 113, "reason": "auth_failed",
                    "message": "wrong user name or password"}, separators=(",", ":"))}
    # ... and it takes about as long: both did the Argon2id work. Loose
    # bounds, as the machine may be busy.
    known, unknown = min(times["alice"]), min(times["nobody"])
    assert unknown > known / 3 and known > unknown / 3, times

    # Every failure is logged with the address and the name tried.
    failed = [line for line in logged(server, "login_failed") if "reason=" not in line]
    assert sum(line.endswith("peer=127.0.0.1 user=alice") for line in failed) == 2
    assert sum(line.endswith("peer=127.0.0.1 user=nobody") for line in failed) == 2
    # The owner's device is untouched.
    assert whoami(owner)["user"] == "alice"


def test_backoff_and_lockout(start_server, make_client):
    server = account_server(start_server, "--login-max-failures", "3",
                            "--login-lockout", "3s")
    alice_phone, bob_phone = device(make_client, server), device(make_client, server)
    assert with_password(alice_phone, "register", "alice").returncode == 0
    assert with_password(bob_phone, "register", "bob", password=OTHER_PASSWORD).returncode == 0
    attacker = device(make_client, server)

    backoffs = []
    for _ in range(3):
        result, _, waited = attempt(attacker, "alice", "guess")
        refused(result, "login", "wrong user name or password", "auth_failed")
        backoffs += waited
    # The address had to wait between attempts, and was told so.
    assert backoffs, "no attempt met the per-address backoff"
    for r in backoffs:
        assert r.returncode == 7
        assert any(line.startswith(f"tcp_client: login failed: {BACKOFF}; try again in ")
                   and line.endswith(" s (try_later)") for line in errors(r)), r.stderr

    # Third failure: the address waits a second, even for another account ...
    other = with_password(attacker, "login", "bob", password=OTHER_PASSWORD)
    refused(other, "login", f"{BACKOFF}; try again in 1 s", "try_later")
    # ... and the name alice is locked out for the window, right password or not.
    locked = with_password(attacker, "login", "alice")
    refused(locked, "login", "too many failed logins for this account; try again in 3 s",
            "account_locked")

    # Devices already bound log in by key all the same; others are unharmed.
    assert whoami(alice_phone)["user"] == "alice"
    assert whoami(bob_phone)["user"] == "bob"
    assert users(server)["alice"]["locked"] is False

    # Every refusal is in the log: wrong passwords, backoffs, the lockout.
    lines = logged(server, "login_failed")
    assert sum(line.endswith("peer=127.0.0.1 user=alice") for line in lines) == 3
    assert sum("user=alice reason=backoff" in line for line in lines) >= len(backoffs)
    assert any("user=bob reason=backoff" in line for line in lines)
    assert any("user=alice reason=locked_out" in line for line in lines)

    # When the window has passed the right password works again.
    def unlocked():
        r = with_password(attacker, "login", "alice")
        return r if r.returncode == 0 else None
    wait_for(unlocked, timeout=15, interval=0.25, what="the lockout window to pass")
    assert whoami(attacker)["user"] == "alice"


def test_operator_unlock_lifts_a_lockout(start_server, make_client):
    server = account_server(start_server, "--login-max-failures", "2",
                            "--login-lockout", "10m")
    owner = device(make_client, server)
    assert with_password(owner, "register", "carol").returncode == 0
    newcomer = device(make_client, server)
    for _ in range(2):
        result, _, _ = attempt(newcomer, "carol", "guess")
        refused(result, "login", "wrong user name or password", "auth_failed")
    result, _, _ = attempt(newcomer, "carol", PASSWORD)
    refused(result, "login", "too many failed logins for this account; try again in 600 s",
            "account_locked")

    done = server.ctl("unlock", "carol")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "unlocked carol\n"
    result, _, _ = attempt(newcomer, "carol", PASSWORD)
    assert result.returncode == 0, result.stderr
    assert whoami(newcomer)["user"] == "carol"


BAD_NAMES = [
    ("Alice", "user names are lower case"),
    ("ALICE", "user names are lower case"),
    (" alice", None),
    ("alice ", None),
    ("al ice", None),
    ("al\tice", None),
    ("alice\n", None),
    ("\x1b[31malice", None),
    ("al\x7fice", None),
    ("\u0430lice", None),              # Cyrillic a: looks like alice
    ("alic\u0435", None),              # Cyrillic e
    ("\uff41lice", None),              # fullwidth a
    ("alice\u200b", None),             # zero-width space
    ("robert'); DROP TABLE users;--", None),
    ("alice' OR '1'='1", None),
    ("a", "user names are 2 to 32 characters long"),
    ("a" * 33, "user names are 2 to 32 characters long"),
    ("a" * 5000, "user names are 2 to 32 characters long"),
    ("1alice", "user names start with a letter"),
    ("_alice", "user names start with a letter"),
    ("alice-", "user names end with a letter or a digit"),
    ("alice.", "user names end with a letter or a digit"),
]
CHARSET = ("user names may contain only a-z, 0-9, '.', '_' and '-' "
           "(no spaces, control or non-ASCII characters)")


def test_bad_user_names_refused_and_nothing_harmed(start_server, make_client):
    server = account_server(start_server)
    alice = device(make_client, server)
    assert with_password(alice, "register", "alice").returncode == 0
    before = users(server)
    newcomer = device(make_client, server)

    for name, why in BAD_NAMES:
        why = why or CHARSET
        refused(with_password(newcomer, "register", name), "register", why, "invalid_argument")
        refused(with_password(newcomer, "login", name), "login", why, "invalid_argument")
        admin = server.ctl("useradd", name, env={"TCPSEAL_PASSWORD": PASSWORD})
        assert admin.returncode == 1 and admin.stderr == f"tcp_server: {why}\n", (name, admin)
    # Bytes that are not UTF-8 cannot even be put in a command.
    raw = with_password(newcomer, "register", "al\udcffice")
    assert raw.returncode == 2
    assert errors(raw) == ["tcp_client: the user name is not valid UTF-8 text"]

    # The boundaries the rules allow are accepted.
    for name in ("ab", "a" * 32, "a.b_c-9"):
        ok = with_password(device(make_client, server), "register", name)
        assert ok.returncode == 0, (name, ok.stderr)
    # Refusals are not failed logins: no backoff and nothing locked out.
    assert not logged(server, "login_failed")

    # Nothing else was harmed: the same accounts plus the three new ones,
    # alice's device still logs in by key, and SQL in a message is text.
    after = users(server)
    assert set(after) == set(before) | {"ab", "a" * 32, "a.b_c-9"}
    assert after["alice"] == before["alice"]
    assert whoami(alice)["user"] == "alice"
    sql = "'); DROP TABLE messages; DROP TABLE users; --"
    said = alice.run("say", "--json", sql)
    assert said.returncode == 0, said.stderr
    history = server.ctl("history", "--json")
    assert history.returncode == 0, history.stderr
    assert [json.loads(line)["payload"] for line in history.stdout.splitlines()] == [sql]
    assert set(users(server)) == set(after)
    assert server.status_json()["running"] is True
    assert server.ctl("verify-db").returncode == 0


def test_closed_registration_and_operator_accounts(start_server, make_client, tmp_path):
    server = account_server(start_server, "--open-registration=no")
    dev = device(make_client, server)
    refused(with_password(dev, "register", "dave"), "register",
            "registration is closed on this server; ask its operator for an account",
            "not_allowed")
    assert users(server) == {}

    added = server.ctl("useradd", "dave", env={"TCPSEAL_PASSWORD": PASSWORD})
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added user dave\n"
    secret = tmp_path / "erin.pw"
    secret.write_text(OTHER_PASSWORD + "\nignored second line\n")
    added = server.ctl("useradd", "--password-file", str(secret), "erin")
    assert added.returncode == 0, added.stderr
    listed = users(server)
    assert set(listed) == {"dave", "erin"}
    assert listed["dave"]["keys"] == 0 and listed["dave"]["locked"] is False

    login = with_password(dev, "login", "dave")
    assert login.returncode == 0, login.stderr
    assert whoami(dev)["user"] == "dave"
    other = device(make_client, server)
    login = other.run("login", "--password-file", str(secret), "erin")
    assert login.returncode == 0, login.stderr
    assert users(server)["dave"]["keys"] == 1

    # Without a password and without a terminal (a new session has none),
    # useradd says what to do.
    nopw = subprocess.run([program("tcp_server"), "useradd", "frank"], capture_output=True,
                          text=True, env=server.env, timeout=DEADLINE, start_new_session=True,
                          stdin=subprocess.DEVNULL)
    assert nopw.returncode == 1
    assert "no terminal to ask for the password" in nopw.stderr
    assert "frank" not in users(server)


def test_anonymous_refused_when_not_allowed(start_server, make_client, peers):
    server = account_server(start_server, "--allow-anonymous=no", "--auth-timeout", "1s")
    anon = device(make_client, server)

    request = anon.run("send", "hello")
    assert request.returncode == 7
    assert ("tcp_client: server refused the request: this server answers logged-in users only "
            "(login_required)") in errors(request)
    listing = anon.run("users")
    refused(listing, "users", "this server answers logged-in users only; log in first",
            "login_required")
    # It may still ask who it is, and log in.
    assert whoami(anon)["user"] is None
    assert with_password(anon, "register", "gina").returncode == 0
    served = anon.run("send", "hello")
    assert served.returncode == 0, served.stderr
    assert served.stdout == "hello\n"
    assert anon.run("users").returncode == 0

    # A connection that stays anonymous is closed after auth_timeout.
    idle = peers("hold", server.port)
    idle.expect("established")
    assert idle.expect("closed").startswith("closed 25 ")
    wait_for(lambda: logged(server, "auth_timeout"), what="the auth_timeout log line")
    assert whoami(anon)["user"] == "gina"


def test_min_password_length(start_server, make_client):
    server = account_server(start_server, "--min-password-length", "12")
    dev = device(make_client, server)
    refused(with_password(dev, "register", "hank", password="elevenchars"), "register",
            "passwords are at least 12 characters long", "invalid_argument")
    short = server.ctl("useradd", "hank", env={"TCPSEAL_PASSWORD": "elevenchars"})
    assert short.returncode == 1
    assert short.stderr == "tcp_server: passwords are 12 to 1024 characters long\n"
    assert users(server) == {}

    assert with_password(dev, "register", "hank", password="twelve chars").returncode == 0
    refused(with_password(dev, "passwd", password="twelve chars", new="elevenchars"), "passwd",
            "passwords are at least 12 characters long", "invalid_argument")
    # Logging in checks the password, not its length: a shorter one is
    # simply wrong.
    other = device(make_client, server)
    wrong, _, _ = attempt(other, "hank", "short")
    refused(wrong, "login", "wrong user name or password", "auth_failed")
    right, _, _ = attempt(other, "hank", "twelve chars")
    assert right.returncode == 0, right.stderr

    # Client-side limits name the problem before anything is sent.
    long = with_password(other, "passwd", password="twelve chars", new="x" * 1025)
    assert long.returncode == 1
    assert errors(long) == ["tcp_client: the password is longer than 1024 bytes"]


def test_operator_commands(start_server, make_client, tmp_path):
    server = account_server(start_server)
    phone = device(make_client, server)
    assert with_password(phone, "register", "ivan").returncode == 0
    added = server.ctl("useradd", "judy", env={"TCPSEAL_PASSWORD": PASSWORD})
    assert added.returncode == 0, added.stderr

    listed = users(server)
    assert sorted(listed) == ["ivan", "judy"]
    assert listed["ivan"]["keys"] == 1 and listed["judy"]["keys"] == 0
    assert all(u["locked"] is False and u["created_ms"] > 0 for u in listed.values())
    human = server.ctl("users")
    assert human.returncode == 0
    lines = human.stdout.splitlines()
    assert lines[0].split() == ["USER", "ONLINE", "KEYS", "LOCKED", "CREATED"]
    assert [line.split()[:4] for line in lines[1:]] == [["ivan", "0", "1", "no"],
                                                        ["judy", "0", "0", "no"]]

    # Mistakes get clear answers and change nothing.
    for args, text in ((("useradd", "judy"), "that user name is taken"),
                       (("userdel", "nobody"), "no such user"),
                       (("lock", "nobody"), "no such user"),
                       (("unlock", "nobody"), "no such user"),
                       (("passwd", "nobody"), "no such user"),
                       (("lock", "Judy"), "user names are lower case")):
        result = server.ctl(*args, env={"TCPSEAL_PASSWORD": OTHER_PASSWORD})
        assert result.returncode == 1 and result.stderr == f"tcp_server: {text}\n", (args, result)
    assert users(server) == listed

    # passwd: the old password stops working, the new one works.
    reset = server.ctl("passwd", "ivan", env={"TCPSEAL_PASSWORD": OTHER_PASSWORD})
    assert reset.returncode == 0 and reset.stdout == "new password for ivan\n"
    tablet = device(make_client, server)
    old, _, _ = attempt(tablet, "ivan", PASSWORD)
    refused(old, "login", "wrong user name or password", "auth_failed")
    new, _, _ = attempt(tablet, "ivan", OTHER_PASSWORD)
    assert new.returncode == 0, new.stderr
    assert whoami(phone)["user"] == "ivan"

    # lock: a live connection of ivan's is closed, his devices are no
    # longer logged in, and a password login is refused as locked.
    listener = phone.popen("listen", "--json", stdout=open(tmp_path / "listen.out", "w"),
                           stderr=open(tmp_path / "listen.err", "w"))
    try:
        fp = whoami(phone)["fingerprint"]
        live = wait_for(lambda: [c["id"] for c in server.connections() if c["fingerprint"] == fp
                                 and c["state"] == "ready"], what="ivan's listener")
        wait_for(lambda: users(server)["ivan"]["online"] == 1, what="ivan online")
        locked = server.ctl("lock", "ivan")
        assert locked.returncode == 0 and locked.stdout == "locked ivan\n"
        wait_for(lambda: not set(live) & {c["id"] for c in server.connections()},
                 what="the locked account's connection to close")
        assert "account locked by an operator" in (tmp_path / "listen.err").read_text()
    finally:
        listener.kill()
        listener.wait()
    listed = users(server)
    assert listed["ivan"]["locked"] is True and listed["ivan"]["online"] == 0
    assert whoami(phone)["user"] is None and whoami(tablet)["user"] is None
    third = device(make_client, server)
    refused(with_password(third, "login", "ivan", password=OTHER_PASSWORD), "login",
            "this account is locked by an operator", "account_locked")
    assert any("user=ivan reason=locked" in line for line in logged(server, "login_refused"))
    # The wrong password on a locked account gets the usual answer: the
    # lock is only told to whoever knows the password.
    wrong, _, _ = attempt(third, "ivan", "guess")
    refused(wrong, "login", "wrong user name or password", "auth_failed")

    unlocked = server.ctl("unlock", "ivan")
    assert unlocked.returncode == 0 and unlocked.stdout == "unlocked ivan\n"
    assert whoami(phone)["user"] == "ivan" and whoami(tablet)["user"] == "ivan"
    assert users(server)["ivan"]["locked"] is False

    # userdel: the account and its keys go; the name can be taken again.
    gone = server.ctl("userdel", "ivan")
    assert gone.returncode == 0 and gone.stdout == "deleted user ivan\n"
    assert sorted(users(server)) == ["judy"]
    assert whoami(phone)["user"] is None
    result, _, _ = attempt(third, "ivan", OTHER_PASSWORD)
    refused(result, "login", "wrong user name or password", "auth_failed")
    again = with_password(third, "register", "ivan")
    assert again.returncode == 0, again.stderr
    assert users(server)["ivan"]["keys"] == 1
    assert whoami(phone)["user"] is None

    # Every change is in the log.
    for event in ("user_added", "password_set", "user_locked", "user_unlocked", "user_deleted"):
        assert logged(server, event), event


def test_locked_account_device_cannot_take_another_name(start_server, make_client):
    server = account_server(start_server)
    phone = device(make_client, server)
    assert with_password(phone, "register", "kate").returncode == 0
    assert server.ctl("lock", "kate").returncode == 0
    # The device's key is kate's still, so it cannot found a new account.
    refused(with_password(phone, "register", "kate2"), "register",
            "this device's key is bound to another account; log out there first or register "
            "from another device", "not_allowed")
    assert sorted(users(server)) == ["kate"]
    assert server.ctl("unlock", "kate").returncode == 0
    assert whoami(phone)["user"] == "kate"

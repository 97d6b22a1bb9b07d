"""Fixtures for end-to-end tests: the real tcp_server and tcp_client
programs on 127.0.0.1 with ephemeral ports and temporary state directories.

Nothing here sleeps to wait for readiness: every wait polls a condition
until a deadline (see wait_for)."""

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TCPSEAL_BIN", ROOT / "build" / "bin"))
DEADLINE = 20.0


def wait_for(condition, timeout=DEADLINE, interval=0.02, what="condition"):
    """Poll condition() until it returns a truthy value or the deadline
    passes; returns that value or fails the test."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def logged(srv, event):
    """The log lines of a Server (or anything with output()) for one event."""
    return [line for line in srv.output().splitlines() if f" event={event} " in line]


def program(name):
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (make build)")
    return str(path)


class Server:
    """A tcp_server started in the foreground on 127.0.0.1 and port 0."""

    def __init__(self, state_dir, extra_args=(), env=None, config=None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        self.env = dict(os.environ, TCPSEAL_SERVER_DIR=str(self.state_dir),
                        TCPSEAL_LOG=os.environ.get("TCPSEAL_TEST_LOG", "info"))
        if env:
            self.env.update(env)
        self.log_path = self.state_dir / "test-output.log"
        args = [program("tcp_server"), "start", "-H", "127.0.0.1", "-p", "0",
                "--state-dir", str(self.state_dir)]
        if config is not None:
            cfg = self.state_dir / "test.ini"
            cfg.write_text(config)
            args += ["-c", str(cfg)]
        args += list(extra_args)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        self.status = wait_for(self._status_when_up, what="tcp_server to listen")
        self.port = int(self.status["listen"][0].rsplit(":", 1)[1])
        self.fingerprint = self.status["fingerprint"]

    def _status_when_up(self):
        if self.proc.poll() is not None:
            pytest.fail(f"tcp_server exited with {self.proc.returncode}:\n{self.output()}")
        result = self.ctl("status", "--json")
        if result.returncode != 0:
            return None
        return json.loads(result.stdout)

    def ctl(self, *args, timeout=DEADLINE, env=None):
        """Run a tcp_server command against this server's state directory;
        env adds variables (TCPSEAL_PASSWORD for useradd, for instance)."""
        return subprocess.run([program("tcp_server"), *args], capture_output=True, text=True,
                              env=dict(self.env, **(env or {})), timeout=timeout)

    def status_json(self):
        result = self.ctl("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def connections(self):
        result = self.ctl("connections", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def wait_ready(self, count=1):
        """Wait until count connections have completed the handshake on the
        server side (a client knows earlier than the server does)."""
        wait_for(lambda: sum(1 for c in self.connections() if c["state"] == "ready") >= count,
                 what=f"{count} ready connection(s)")

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Client:
    """tcp_client with its own state directory."""

    def __init__(self, state_dir, server=None):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        self.server = server
        self.env = dict(os.environ, TCPSEAL_CLIENT_DIR=str(self.state_dir))

    def target(self):
        return ["-H", "127.0.0.1", "-p", str(self.server.port)] if self.server else []

    # Commands that take no server address.
    LOCAL = {"response", "forget", "fingerprint", "status", "stop"}

    def run(self, command, *args, timeout=DEADLINE, input=None, env=None):
        full_env = dict(self.env, **(env or {}))
        target = [] if command in self.LOCAL else self.target()
        return subprocess.run([program("tcp_client"), command, *target, *args],
                              capture_output=True, text=True, env=full_env,
                              timeout=timeout, input=input)

    def popen(self, command, *args, env=None, **kwargs):
        full_env = dict(self.env, **(env or {}))
        return subprocess.Popen([program("tcp_client"), command, *self.target(), *args],
                                env=full_env, **kwargs)


@pytest.fixture
def start_server(tmp_path):
    servers = []

    def start(*extra_args, name=None, env=None, config=None):
        name = name or f"server{len(servers) + 1}"
        srv = Server(tmp_path / name, extra_args, env=env, config=config)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def make_client(tmp_path):
    count = [0]

    def make(server=None, name=None):
        count[0] += 1
        return Client(tmp_path / (name or f"client{count[0]}"), server)

    return make


@pytest.fixture
def client(make_client, server):
    return make_client(server)


PEER = Path(os.environ.get("TCPSEAL_TEST_BIN", BIN.parent / "tests")) / "ts_e2e_peer"


class Peer:
    """ts_e2e_peer: a test client that holds its connection and reports
    events as lines (established, rejected, closed, message, eof)."""

    def __init__(self, mode, port, *args):
        if not PEER.exists():
            pytest.fail(f"{PEER} is missing: build first (make build)")
        # Only the control mode reads commands; the others keep the
        # inherited stdin they never touch.
        stdin = subprocess.PIPE if mode == "control" else None
        self.proc = subprocess.Popen([str(PEER), mode, "127.0.0.1", str(port), *map(str, args)],
                                     stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, prefix, timeout=DEADLINE):
        """Wait for the next line starting with prefix; return it."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                line = None
                if time.monotonic() < end:
                    continue
            if line is not None:
                self.seen.append(line)
            if line is not None and line.startswith(prefix):
                return line
            if line is None or time.monotonic() > end:
                pytest.fail(f"expected a line starting with {prefix!r}; saw {self.seen}")

    def tell(self, command):
        """Give a control-mode peer one command line (see peer.c)."""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def peers():
    started = []

    def start(mode, port, *args):
        p = Peer(mode, port, *args)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


# ---- The tcp_client agent -------------------------------------------------


class Agent:
    """The tcp_client agent of one Client (its state directory): start it,
    ask its status, stop or kill it. Readiness is polled, never slept for."""

    def __init__(self, client):
        self.client = client
        self.pid = None

    @property
    def pid_path(self):
        return self.client.state_dir / "agent.pid"

    @property
    def sock_path(self):
        return self.client.state_dir / "agent.sock"

    def start(self, *args, timeout=DEADLINE):
        result = self.client.run("start", *args, timeout=timeout)
        if result.returncode == 0:
            self.pid = int(result.stdout.split("(pid ", 1)[1].split(")", 1)[0])
        return result

    def status(self):
        """The status JSON, or None when no agent answers."""
        result = self.client.run("status", "--json")
        if result.returncode != 0:
            return None
        return json.loads(result.stdout)

    def wait_status(self, check, what="agent status", timeout=DEADLINE):
        """Poll the status until check(status) holds; return that status."""
        def ready():
            st = self.status()
            return st if st is not None and check(st) else None
        return wait_for(ready, timeout=timeout, what=what)

    def running(self):
        """True while a process holds agent.pid's lock."""
        import fcntl
        try:
            fd = os.open(self.pid_path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def kill(self):
        """kill -9 (a stopped agent too, without letting it run first), and
        wait until its locks are released."""
        if self.pid is not None and self.running():
            os.kill(self.pid, signal.SIGKILL)
            wait_for(lambda: not self.running(), what="the killed agent to go")

    def stop(self):
        return self.client.run("stop")


@pytest.fixture
def make_agent():
    """Agents made here are killed at the end of the test if still running."""
    made = []

    def make(client):
        agent = Agent(client)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.kill()


class LineReader:
    """Lines of a running process's stdout, read on a thread, with a
    deadline per line."""

    def __init__(self, proc):
        self.proc = proc
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout=DEADLINE):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no line within {timeout}s")
        if line is None:
            pytest.fail("the process ended its output")
        return line

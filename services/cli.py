"""`polku`: the command line for developers and operations.

  polku run                      start NATS, the five services and the demo (what `make run` does)
  polku demo --cohort s20649     load 317 clients shaped like the seed project S20649 into a running system
  polku bootstrap [--replicas N] create or update the streams from deploy/nats/streams.yaml
                                 and the services' durable consumers
  polku dead-letters list        list dead letters with their errors
  polku dead-letters replay SEQ… put dead letters back on the bus (or --all)
  polku rebuild                  replay the stream into new projection tables and swap them in
  polku republish SERVICE --from-position N
                                 refill the stream from a service's own event log
  polku token ROLE [--area A]    print a development token (embedded default only)
  polku audit verify SERVICE     check the service's audit log chain; name the first broken link
                                 (--checkpoints FILE: and that every checkpointed entry is still there)
  polku audit checkpoint SERVICE --to FILE   append the chain's head to FILE, kept outside the database
  polku status [--watch S]       services, consumers, outboxes, dead letters, stream and cluster;
                                 exits 1 when something needs attention
  polku trace ID                 a trace as a tree across services (trace, correlation or event id),
                                 from the spans the services keep under var/traces/
"""
import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from services.platform import dead_letters
from services.platform.bus import bootstrap_streams, connect
from services.platform.config import Settings
from services.platform.stream_reader import REPLAY_BATCH
from services.reporting.partitions import DEFAULT_PROCESSES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="polku", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run everything locally with the demo history")
    bootstrap = commands.add_parser("bootstrap", help="create or update the streams")
    bootstrap.add_argument("--replicas", type=int, default=None, help="override the file's replicas (1 locally)")
    letters = commands.add_parser("dead-letters", help="list or replay dead letters")
    letters_commands = letters.add_subparsers(dest="action", required=True)
    letters_commands.add_parser("list")
    replay = letters_commands.add_parser("replay")
    replay.add_argument("sequences", nargs="*", type=int)
    replay.add_argument("--all", action="store_true")
    demo = commands.add_parser("demo", help="load a demo cohort into the running system (`make run`)")
    demo.add_argument("--cohort", choices=("s20649",), required=True,
                      help="s20649: 317 clients shaped like the seed ESF project's outcomes")
    rebuild = commands.add_parser("rebuild", help="rebuild reporting's projections from the stream")
    rebuild.add_argument("--batch-size", type=int, default=REPLAY_BATCH)
    rebuild.add_argument("--processes", type=int, default=DEFAULT_PROCESSES,
                         help="processes replaying at once, each a part of the projections (default: 2 where the "
                              "machine has two cores or more)")
    republish = commands.add_parser("republish", help="refill the stream from a service's event log")
    republish.add_argument("service")
    republish.add_argument("--from-position", type=int, required=True)
    token = commands.add_parser("token", help="print a development token signed with the local key")
    token.add_argument("roles", nargs="+", metavar="ROLE")
    token.add_argument("--area", default="kemi", help="the employment area (default kemi)")
    token.add_argument("--user", default=None, help="the user id (default dev-<role>)")
    token.add_argument("--ttl-hours", type=float, default=8)
    token.add_argument("--partner", default=None, help="the partner system an integration acts for (e.g. te_office)")
    audit = commands.add_parser("audit", help="check the audit log")
    audit_commands = audit.add_subparsers(dest="action", required=True)
    verify = audit_commands.add_parser("verify")
    verify.add_argument("service")
    verify.add_argument("--checkpoints", type=Path, default=None, metavar="FILE",
                        help="checkpoints of `polku audit checkpoint`: each must still be in the chain")
    checkpoint = audit_commands.add_parser("checkpoint", help="append the chain's head to FILE, kept outside the database")
    checkpoint.add_argument("service")
    checkpoint.add_argument("--to", type=Path, required=True, metavar="FILE")
    status = commands.add_parser("status", help="what is healthy, what is behind; exit 1 when something needs attention")
    status.add_argument("--url", action="append", default=[], metavar="SERVICE=URL",
                        help="a service instance's base URL (repeat; default 127.0.0.1 and each service's port "
                             "from POLKU_FIRST_PORT, 8101)")
    status.add_argument("--watch", type=float, default=None, metavar="SECONDS", help="refresh every SECONDS")
    status.add_argument("--stalled-after", type=float, default=60.0, metavar="SECONDS",
                        help="a consumer with work and no delivery for this long needs attention (default 60)")
    status.add_argument("--outbox-age", type=float, default=60.0, metavar="SECONDS",
                        help="an outbox row older than this needs attention (default 60)")
    status.add_argument("--parked-age", type=float, default=300.0, metavar="SECONDS",
                        help="an event parked (waiting for a prerequisite) longer than this needs attention "
                             "(default 300; POLKU_MAX_PARKED_S dead-letters it)")
    vault = commands.add_parser("vault", help="intake's personal-data vault")
    vault_commands = vault.add_subparsers(dest="vault_command", required=True)
    rotate = vault_commands.add_parser(
        "rotate-master-key", help="wrap every client key with a new master key (stop intake first; then start it "
                                  "with the new key)")
    rotate.add_argument("--new-key-file", type=Path, required=True,
                        help="a file holding the new master key: the base64 of 32 random bytes")
    intake = commands.add_parser("intake", help="intake's own maintenance")
    intake_commands = intake.add_subparsers(dest="intake_command", required=True)
    expired = intake_commands.add_parser(
        "erase-expired", help="erase the personal data of referrals never enrolled whose retention period "
                              "(services/intake/retention.yaml) ended; intake does this itself every "
                              "POLKU_RETENTION_INTERVAL_S, this is for cron or an operator")
    expired.add_argument("--today", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
    trace = commands.add_parser("trace", help="print a trace as a tree across services")
    trace.add_argument("id", help="a trace id, correlation id or event id")
    args = parser.parse_args(argv)

    if args.command == "run":
        from services.devrun import run

        return run()
    if args.command == "token":
        return _token(args)
    if args.command == "demo":
        return asyncio.run(_demo(args))
    if args.command == "trace":
        return _trace(args)
    if args.command == "status" and args.watch:
        while True:
            print("\033[2J\033[H" + time.strftime("%H:%M:%S"), flush=True)
            asyncio.run(_status(args))
            time.sleep(args.watch)
    return asyncio.run(_COMMANDS[args.command](args))


async def _bootstrap(args) -> int:
    from services.platform.consumer import create_durable_consumers
    from services.platform.nats_permissions import REPORTING_AREAS, area_consumer_config, service_subscriptions

    settings = Settings(service="ops")
    nc = await connect(settings.nats_url, "polku-bootstrap", settings.nats_user, settings.nats_password,
                       tls_ca=settings.nats_tls_ca)
    try:
        for name in await bootstrap_streams(nc, args.replicas):
            print(f"stream {name} ready")
        for name in await create_durable_consumers(nc.jetstream(), service_subscriptions(), settings):
            print(f"consumer {name} ready")
        for area in REPORTING_AREAS:  # their users may only pull (services/platform/nats_permissions.py)
            config = area_consumer_config(area)
            await nc.jetstream().add_consumer(settings.stream, config)
            print(f"consumer {config.name} ready")
    finally:
        await nc.close()
    return 0


async def _dead_letters(args) -> int:
    settings = Settings(service="ops")
    nc = await connect(settings.nats_url, "polku-ops", settings.nats_user, settings.nats_password,
                       tls_ca=settings.nats_tls_ca)
    js = nc.jetstream()
    try:
        letters = await dead_letters.list_all(js, settings.dead_letter_stream)
        if args.action == "list":
            print(f"{'seq':>6}  {'consumer':<16} {'event type':<22} {'event id':<36} tries  error")
            for letter in letters:
                print(f"{letter.sequence:>6}  {letter.consumer:<16} {letter.event_type:<22} {letter.event_id:<36} "
                      f"{letter.deliveries:>5}  {letter.error}")
            print(f"{len(letters)} dead letter(s)")
            return 0
        chosen = [letter for letter in letters if args.all or letter.sequence in args.sequences]
        missing = set(args.sequences) - {letter.sequence for letter in chosen}
        if missing:
            print(f"no dead letter with sequence {sorted(missing)}", file=sys.stderr)
            return 1
        for letter in chosen:
            await dead_letters.replay(js, settings.stream, settings.dead_letter_stream, letter)
            print(f"replayed {letter.sequence} ({letter.event_type} {letter.event_id}) to {letter.original_subject}")
        return 0
    finally:
        await nc.close()


async def _rebuild(args) -> int:
    from services.platform.database import create_engine, migrate
    from services.reporting.rebuild import Parallel, rebuild
    from services.reporting.service import SERVICE

    settings = Settings(service="reporting")
    engine = create_engine(settings.resolved_database_url, statements_on_loop=False)
    await migrate(engine, SERVICE.migrations)
    nc = await connect(settings.nats_url, "polku-rebuild", settings.nats_user, settings.nats_password,
                       tls_ca=settings.nats_tls_ca)
    try:
        parallel = Parallel(settings.resolved_database_url, settings.nats_url, settings.nats_user,
                            settings.nats_password, str(settings.nats_tls_ca) if settings.nats_tls_ca else None,
                            args.processes)
        replayed = await rebuild(engine, nc, settings.stream, args.batch_size, parallel=parallel)
        print(f"rebuilt reporting's projections from {replayed} events and swapped them in")
    finally:
        await nc.close()
        await engine.dispose()
    return 0


async def _republish(args) -> int:
    from services.platform.database import create_engine
    from services.platform.event_store import requeue_from

    settings = Settings(service=args.service)
    engine = create_engine(settings.resolved_database_url)
    try:
        queued = await requeue_from(engine, args.from_position)
        print(f"{queued} events of {args.service} queued for the relay from position {args.from_position}; "
              f"the running service publishes them, and duplicates are dropped by consumers' inboxes")
    finally:
        await engine.dispose()
    return 0


def _token(args) -> int:
    from services.platform.auth import issue_dev_token

    settings = Settings(service="ops")
    try:
        print(issue_dev_token(settings, args.user or f"dev-{args.roles[0]}", args.roles, args.area,
                              int(args.ttl_hours * 3600), partner=args.partner))
    except (ValueError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 2
    return 0


async def _audit(args) -> int:
    from services.platform.audit import first_broken_link, head_of
    from services.platform.database import create_engine

    engine = create_engine(Settings(service=args.service).resolved_database_url)
    try:
        if args.action == "checkpoint":
            seq, digest = await head_of(engine)
            with args.to.open("a") as checkpoints:
                checkpoints.write(json.dumps({"service": args.service, "seq": seq, "hash": digest,
                                              "at": datetime.now(UTC).isoformat()}) + "\n")
            print(f"checkpointed entry {seq} of {args.service}'s audit log to {args.to}")
            return 0
        checkpoints = {}
        if args.checkpoints:
            lines = [json.loads(line) for line in args.checkpoints.read_text().splitlines() if line.strip()]
            checkpoints = {line["seq"]: line["hash"] for line in lines if line["service"] == args.service and line["seq"]}
        broken = await first_broken_link(engine, checkpoints=checkpoints)
    finally:
        await engine.dispose()
    if broken is None:
        print(f"the audit log of {args.service} is intact")
        return 0
    print(f"the audit log of {args.service} is broken at entry {broken}: it or an entry before it was "
          f"changed, removed or reordered", file=sys.stderr)
    return 1


async def _demo(args) -> int:
    from services.demo_s20649 import load_s20649
    from services.platform.auth import issue_dev_token

    settings = Settings(service="ops")
    urls = dict(_service_urls([]))
    created = await load_s20649(urls.__getitem__, lambda role, area: issue_dev_token(
        settings, f"demo-{role}", [role], area, 3600))
    print(f"cohort {args.cohort}: {sum(created.values())} clients; by status at exit: "
          + ", ".join(f"{status} {count}" for status, count in sorted(created.items())))
    print(f"the outcome report: {urls['reporting']}/reports/outcomes (a manager's token: polku token manager)")
    return 0


def _service_urls(pairs: list[str]) -> list[tuple[str, str]]:
    from services.platform.processes import SERVICES

    if not pairs:
        first = int(os.environ.get("POLKU_FIRST_PORT", "8101"))
        return [(name, f"http://127.0.0.1:{first + i}") for i, name in enumerate(SERVICES)]
    return [tuple(pair.split("=", 1)) for pair in pairs]


async def _vault(args) -> int:
    """Re-wraps the client keys under the new master key in one transaction. With the embedded default's
    key file (no POLKU_MASTER_KEY), the file then holds the new key; else POLKU_MASTER_KEY must be set
    to it before intake starts again."""
    from services.intake.vault import Vault, rotate_master_key, vault_for
    from services.platform.config import master_key_bytes
    from services.platform.database import create_engine
    from services.platform.key_files import replace_file

    settings = Settings(service="intake")
    new_key = master_key_bytes(args.new_key_file.read_text())
    if new_key is None:
        print(f"{args.new_key_file} is not a vault master key (the base64 of 32 bytes)", file=sys.stderr)
        return 2
    current, new = vault_for(settings), Vault(new_key)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.begin() as connection:
            rewrapped, already = await rotate_master_key(connection, current, new)
    finally:
        await engine.dispose()
    print(f"{rewrapped} client keys wrapped by master key {new.master_key_id} ({already} were already)")
    if settings.master_key is None:
        replace_file(settings.resolved_master_key_file, args.new_key_file.read_bytes())
        print(f"{settings.resolved_master_key_file} holds the new key now; start intake again")
    else:
        print("set POLKU_MASTER_KEY to the new key wherever intake runs, then start intake again")
    return 0


async def _intake(args) -> int:
    from services.intake.retention import erase_expired, rule_on
    from services.intake.service import SERVICE
    from services.platform.database import create_engine, migrate

    settings, today = Settings(service="intake"), args.today or date.today()
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine, SERVICE.migrations)
        erased = await erase_expired(engine, today)
    finally:
        await engine.dispose()
    rule = rule_on(today)
    print(f"{len(erased)} clients' personal data erased (referrals not enrolled within {rule.days} days; "
          f"the events go out when intake's relay runs)")
    return 0


async def _status(args) -> int:
    from services.platform.nats_permissions import service_subscriptions
    from services.platform.status import Line, Thresholds, bus_lines, render, service_lines

    settings = Settings(service="ops")
    thresholds = Thresholds(outbox_age_s=args.outbox_age, stalled_after_s=args.stalled_after,
                            parked_age_s=args.parked_age)
    lines = await service_lines(_service_urls(args.url), thresholds)
    try:
        nc = await asyncio.wait_for(connect(settings.nats_url, "polku-status", settings.nats_user,
                                            settings.nats_password, settings.nats_tls_ca, max_reconnect_attempts=0), 5)
    except Exception as error:
        lines.append(Line("nats", settings.nats_url, "ATTENTION", f"unreachable ({type(error).__name__})"))
    else:
        try:
            lines += await bus_lines(nc, settings.stream, settings.dead_letter_stream,
                                     [subscription.consumer for subscription in service_subscriptions()], thresholds)
        finally:
            await nc.close()
    print(render(lines))
    attention = [line for line in lines if line.needs_attention]
    print(f"{len(attention)} line(s) need attention" if attention else "all healthy")
    return 1 if attention else 0


def _trace(args) -> int:
    from services.platform.span_store import find_trace, render

    directory = Settings(service="ops").var_dir / "traces"
    found = find_trace(directory, args.id)
    if not found:
        print(f"no span under {directory} names {args.id} (a trace id, correlation id or event id)", file=sys.stderr)
        return 1
    for trace_id, records in found.items():
        print("\n".join(render(trace_id, records)))
    return 0


_COMMANDS = {"audit": _audit, "bootstrap": _bootstrap, "dead-letters": _dead_letters, "rebuild": _rebuild,
             "intake": _intake, "republish": _republish, "status": _status, "vault": _vault}

if __name__ == "__main__":
    sys.exit(main())

"""`polku`: the command line for developers and operations.

  polku run                      start NATS, the five services and the demo (what `make run` does)
  polku bootstrap [--replicas N] create or update the streams from deploy/nats/streams.yaml
                                 and the services' durable consumers
  polku dead-letters list        list dead letters with their errors
  polku dead-letters replay SEQ… put dead letters back on the bus (or --all)
  polku rebuild                  empty reporting's projections and replay the stream
  polku republish SERVICE --from-position N
                                 refill the stream from a service's own event log
  polku token ROLE [--area A]    print a development token (embedded default only)
  polku audit verify SERVICE     check the service's audit log chain; name the first broken link
"""
import argparse
import asyncio
import sys

from services.platform import dead_letters
from services.platform.bus import bootstrap_streams, connect
from services.platform.config import Settings
from services.platform.stream_reader import REPLAY_BATCH


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
    rebuild = commands.add_parser("rebuild", help="rebuild reporting's projections from the stream")
    rebuild.add_argument("--batch-size", type=int, default=REPLAY_BATCH)
    republish = commands.add_parser("republish", help="refill the stream from a service's event log")
    republish.add_argument("service")
    republish.add_argument("--from-position", type=int, required=True)
    token = commands.add_parser("token", help="print a development token signed with the local key")
    token.add_argument("roles", nargs="+", metavar="ROLE")
    token.add_argument("--area", default="kemi", help="the employment area (default kemi)")
    token.add_argument("--user", default=None, help="the user id (default dev-<role>)")
    token.add_argument("--ttl-hours", type=float, default=8)
    audit = commands.add_parser("audit", help="check the audit log")
    audit_commands = audit.add_subparsers(dest="action", required=True)
    verify = audit_commands.add_parser("verify")
    verify.add_argument("service")
    args = parser.parse_args(argv)

    if args.command == "run":
        from services.devrun import run

        return run()
    if args.command == "token":
        return _token(args)
    return asyncio.run(_COMMANDS[args.command](args))


async def _bootstrap(args) -> int:
    from services.platform.consumer import create_durable_consumers
    from services.platform.nats_permissions import service_subscriptions

    settings = Settings(service="ops")
    nc = await connect(settings.nats_url, "polku-bootstrap", settings.nats_user, settings.nats_password)
    try:
        for name in await bootstrap_streams(nc, args.replicas):
            print(f"stream {name} ready")
        for name in await create_durable_consumers(nc.jetstream(), service_subscriptions(), settings):
            print(f"consumer {name} ready")
    finally:
        await nc.close()
    return 0


async def _dead_letters(args) -> int:
    settings = Settings(service="ops")
    nc = await connect(settings.nats_url, "polku-ops", settings.nats_user, settings.nats_password)
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
    from services.reporting.rebuild import rebuild
    from services.reporting.service import SERVICE

    settings = Settings(service="reporting")
    engine = create_engine(settings.resolved_database_url, statements_on_loop=False)
    await migrate(engine, SERVICE.migrations)
    nc = await connect(settings.nats_url, "polku-rebuild", settings.nats_user, settings.nats_password)
    try:
        replayed = await rebuild(engine, nc, settings.stream, args.batch_size)
        print(f"rebuilt reporting's projections from {replayed} events")
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
                              int(args.ttl_hours * 3600)))
    except (ValueError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 2
    return 0


async def _audit(args) -> int:
    from services.platform.audit import first_broken_link
    from services.platform.database import create_engine

    engine = create_engine(Settings(service=args.service).resolved_database_url)
    try:
        broken = await first_broken_link(engine)
    finally:
        await engine.dispose()
    if broken is None:
        print(f"the audit log of {args.service} is intact")
        return 0
    print(f"the audit log of {args.service} is broken at entry {broken}: it or an entry before it was "
          f"changed, removed or reordered", file=sys.stderr)
    return 1


_COMMANDS = {"audit": _audit, "bootstrap": _bootstrap, "dead-letters": _dead_letters, "rebuild": _rebuild,
             "republish": _republish}

if __name__ == "__main__":
    sys.exit(main())

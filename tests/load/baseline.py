"""The bare baseline `make load` compares Polku with: aiohttp, the same referral body validated by
pydantic, and one SQLite commit per request (WAL, synchronous=FULL), nothing else.

Run as its own process: `python -m tests.load.baseline PORT DATABASE_FILE`.
"""
import sys
from uuid import uuid4

import aiosqlite
from aiohttp import web
from pydantic import ValidationError

from services.intake.domain.referral import ReferClient

DATABASE: web.AppKey = web.AppKey("database")


async def refer(request: web.Request) -> web.Response:
    try:
        referral = ReferClient.model_validate_json(await request.read())
    except ValidationError as error:
        return web.json_response({"errors": error.errors(include_url=False, include_input=False)}, status=422)
    client_id = str(uuid4())
    database = request.app[DATABASE]
    await database.execute("INSERT INTO referrals (client_id, body) VALUES (?, ?)",
                           (client_id, referral.model_dump_json(exclude={"person"})))
    await database.commit()
    return web.json_response({"client_id": client_id}, status=201)


async def open_database(app: web.Application):
    database = await aiosqlite.connect(sys.argv[2])
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"):
        await database.execute(pragma)
    await database.execute("CREATE TABLE IF NOT EXISTS referrals (client_id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    app[DATABASE] = database
    yield
    await database.close()


def main() -> None:
    app = web.Application()
    app.router.add_post("/clients", refer)
    app.cleanup_ctx.append(open_database)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()

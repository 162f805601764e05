"""deploy/postgres/init-databases.sh on a real PostgreSQL: each service's role opens its own database only."""
import os
import subprocess
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, _postgres_available

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init-databases.sh"
SERVICES = ("intake", "pathway", "employer", "payroll_billing", "reporting")


@pytest.mark.postgres
async def test_a_service_role_connects_to_its_own_database_only():
    if not await _postgres_available():
        pytest.skip("PostgreSQL not reachable")
    admin_url = make_url(POSTGRES_URL)
    prefix = f"polkutest{uuid4().hex[:8]}"
    env = os.environ | {"POLKU_DB_PREFIX": prefix, "POSTGRES_USER": admin_url.username or "postgres",
                        "PGHOST": admin_url.host or "127.0.0.1", "PGPORT": str(admin_url.port or 5432),
                        **({"PGPASSWORD": admin_url.password} if admin_url.password else {}),
                        "POLKU_DB_PASSWORD_INTAKE": "intake-secret"}
    try:
        subprocess.run(["sh", str(SCRIPT)], env=env, check=True, capture_output=True, timeout=60)

        def dsn(service: str, database: str, password: str) -> str:
            return (f"postgresql://{prefix}_{service}:{password}@{admin_url.host or '127.0.0.1'}:"
                    f"{admin_url.port or 5432}/{prefix}_{database}")

        own = await asyncpg.connect(dsn("intake", "intake", "intake-secret"))
        await own.execute("CREATE TABLE events (id int)")  # it owns its database
        await own.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(dsn("intake", "pathway", "intake-secret"))
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(dsn("pathway", "intake", "dev-pathway"))
    finally:
        admin = await asyncpg.connect(admin_url.set(drivername="postgresql").render_as_string(hide_password=False))
        for service in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{prefix}_{service}"')
        await admin.close()

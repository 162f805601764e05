import asyncio

from services.payroll_billing.service import SERVICE
from services.platform.service import serve

asyncio.run(serve(SERVICE))

import asyncio

from services.reporting.service import SERVICE
from services.platform.service import serve

asyncio.run(serve(SERVICE))

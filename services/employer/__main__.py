import asyncio

from services.employer.service import SERVICE
from services.platform.service import serve

asyncio.run(serve(SERVICE))

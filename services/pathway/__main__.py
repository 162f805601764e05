import asyncio

from services.pathway.service import SERVICE
from services.platform.service import serve

asyncio.run(serve(SERVICE))

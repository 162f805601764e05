import asyncio

from services.intake.service import SERVICE
from services.platform.service import serve

asyncio.run(serve(SERVICE))

"""The relay's wait for its acks: every ack or error in order, a timeout, and a stop while it waits that
leaves nothing unretrieved behind (Python 3.11's wait_for did, logged when the future was collected)."""
import asyncio
import gc

import pytest

from services.platform.relay import all_acks


async def test_every_ack_or_its_error_comes_back_in_order():
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    first.set_result("ack")
    second.set_exception(RuntimeError("no responders"))
    results = await all_acks([first, second], 1)
    assert results[0] == "ack" and isinstance(results[1], RuntimeError)


async def test_acks_that_never_come_time_out():
    with pytest.raises(TimeoutError):
        await all_acks([asyncio.get_running_loop().create_future()], 0.01)


async def test_a_relay_stopped_while_it_waits_leaves_no_unretrieved_exception():
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    waiting = asyncio.create_task(all_acks([loop.create_future()], 10))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    del waiting
    gc.collect()
    await asyncio.sleep(0)
    assert reported == []

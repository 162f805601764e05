"""A service process, once up, freezes what is alive and collects the young generation less often; start-up
garbage in reference cycles is collected first, not frozen. Run in a process of its own: the test process's
collector stays as it is."""
import json
import subprocess
import sys
import textwrap

from services.platform.garbage import YOUNG_COLLECTION_AFTER

SERVE_ONCE = textwrap.dedent("""
    import asyncio, gc, json, os, signal, weakref
    from services.platform import service
    from services.platform.config import Settings

    class Cycle:
        pass

    class Runtime:
        def __init__(self, definition, settings):
            pass

        async def start(self):
            cycle = Cycle()
            cycle.itself = cycle  # garbage of the start-up, in a reference cycle
            global start_up_garbage
            start_up_garbage = weakref.ref(cycle)
            os.kill(os.getpid(), signal.SIGTERM)  # stops serve once it waits

        async def stop(self):
            pass

    service.ServiceRuntime = Runtime
    before = {"frozen": gc.get_freeze_count(), "young": gc.get_threshold()[0]}
    asyncio.run(service.serve(None, Settings(service="probe", local_traces=False)))
    print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                      "start_up_garbage_kept": start_up_garbage() is not None}))
""")


def test_serve_freezes_the_live_objects_and_collects_the_young_generation_less_often():
    done = subprocess.run([sys.executable, "-c", SERVE_ONCE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["before"] == {"frozen": 0, "young": 700}, "the defaults, before the service is up"
    assert result["frozen"] > 10_000, "modules, schemas and metadata are frozen"
    assert result["threshold"] == [YOUNG_COLLECTION_AFTER, 10, 10]
    assert not result["start_up_garbage_kept"], "garbage of the start-up is collected, not frozen"

"""The bootstrap step creates the streams from deploy/nats/streams.yaml and leaves others' settings alone."""
from services.platform.bus import bootstrap_streams, stream_configs


async def test_bootstrap_creates_the_streams_with_the_files_settings(nc):
    js = nc.jetstream()
    for expected in stream_configs(replicas=1):
        config = (await js.stream_info(expected.name)).config
        assert (config.subjects, config.duplicate_window, config.deny_delete, config.num_replicas) == \
            (expected.subjects, expected.duplicate_window, expected.deny_delete, 1)


async def test_bootstrap_can_leave_an_existing_stream_as_it_was_configured(nc):
    js = nc.jetstream()
    config = (await js.stream_info("POLKU")).config
    await js.update_stream(config.evolve(duplicate_window=30))
    await bootstrap_streams(nc, replicas=1, update_existing=False)
    assert (await js.stream_info("POLKU")).config.duplicate_window == 30
    await bootstrap_streams(nc, replicas=1)
    assert (await js.stream_info("POLKU")).config.duplicate_window == stream_configs()[0].duplicate_window

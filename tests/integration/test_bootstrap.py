"""The bootstrap step creates the streams from deploy/nats/streams.yaml and leaves others' settings alone."""
import asyncio

from services import cli
from services.platform.bus import bootstrap_streams, stream_configs
from services.platform.nats_permissions import service_subscriptions


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


async def test_polku_bootstrap_creates_the_streams_and_every_services_consumer(nc, nats_server, monkeypatch, capsys):
    """The command operations run once per deployment, as they run it."""
    js = nc.jetstream()
    await js.delete_stream("POLKU")  # as on a new server: bootstrap must create it, with its consumers
    monkeypatch.setenv("POLKU_NATS_URL", nats_server.url)
    assert await asyncio.to_thread(cli.main, ["bootstrap", "--replicas", "1"]) == 0

    printed = capsys.readouterr().out.splitlines()
    subscriptions = service_subscriptions()
    assert {subscription.consumer for subscription in subscriptions} >= {"pathway", "payroll_billing", "reporting"}
    for subscription in subscriptions:
        assert f"consumer {subscription.consumer} ready" in printed
        config = (await js.consumer_info("POLKU", subscription.consumer)).config
        assert set(config.filter_subjects or [config.filter_subject]) == set(subscription.filter_subjects)
    for expected in stream_configs(replicas=1):
        assert f"stream {expected.name} ready" in printed
        assert (await js.stream_info(expected.name)).config.subjects == expected.subjects

"""Several subjects read at once, a consumer each, come back in batches in stream order."""
import pytest

from services.platform.stream_reader import read_merged

SUBJECTS = ["polku.events.kemi.intake.A", "polku.events.kemi.employer.B", "polku.events.tornio.pathway.C"]


@pytest.mark.parametrize("batch_size", [1, 3, 7, 100])
async def test_every_message_of_the_subjects_once_in_batches_in_stream_order(nc, batch_size):
    js = nc.jetstream()
    sent = {}
    for number in range(60):
        subject = SUBJECTS[number % 5 % 3] if number % 5 else "polku.events.kemi.intake.Other"
        ack = await js.publish(subject, str(number).encode())
        sent[ack.seq] = subject
    wanted = ["polku.events.*.intake.A", "polku.events.*.employer.*", "polku.events.tornio.pathway.C"]
    batches = [batch async for batch in read_merged(nc, "POLKU", wanted, batch_size)]
    sequences = [[msg.metadata.sequence.stream for msg in batch] for batch in batches]
    got = [sequence for batch in sequences for sequence in batch]
    assert sorted(got) == sorted(seq for seq, subject in sent.items() if subject in SUBJECTS)
    assert len(got) == len(set(got)), "each message once"
    for earlier, later in zip(sequences, sequences[1:]):
        assert max(earlier) < min(later), "a batch's messages all come after the batch before's"
    assert all(batches), "no empty batch"


async def test_a_subject_without_messages_and_an_early_end(nc):
    js = nc.jetstream()
    for number in range(10):
        await js.publish(SUBJECTS[0], str(number).encode())
    reader = read_merged(nc, "POLKU", [SUBJECTS[0], "polku.events.*.nothing.>"], batch_size=4)
    first = await anext(reader)
    await reader.aclose()  # the consumers are deleted: nothing left behind on the server
    assert [msg.data for msg in first] == [b"0", b"1"], "the batch size shared between the two subjects' readers"
    assert (await js.stream_info("POLKU")).state.consumer_count == 0

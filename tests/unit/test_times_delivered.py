"""The delivery count read from a JetStream ack subject alone agrees with nats-py's full parse."""
import pytest
from nats.aio.msg import Msg

from services.platform.pull import times_delivered

REPLIES = {
    "without a domain": "$JS.ACK.POLKU.reporting.3.1200.1187.1764460000000000000.42",
    "with a domain and account hash": "$JS.ACK.hub.ACCHASH.POLKU.reporting.3.1200.1187.1764460000000000000.42.rnd",
    "first delivery": "$JS.ACK.POLKU.pathway.1.7.7.1764460000000000000.0",
}


@pytest.mark.parametrize("reply", REPLIES.values(), ids=REPLIES.keys())
def test_the_delivery_count_is_the_one_nats_py_reads(reply):
    msg = Msg(_client=None, subject="polku.events.kemi.intake.ClientReferred", reply=reply, data=b"")
    assert times_delivered(msg) == msg.metadata.num_delivered

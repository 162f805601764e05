"""A consumer batch's links to each message's publisher read the traceparent header directly: the same
span context the OpenTelemetry propagator extracts, for every valid and invalid header."""
from types import SimpleNamespace

import pytest
from opentelemetry import propagate, trace

from services.platform.consumer import _publisher_of

TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


@pytest.mark.parametrize("traceparent", [
    f"00-{TRACE}-{SPAN}-01", f"00-{TRACE}-{SPAN}-00", None, "", f"00-{'0' * 32}-{SPAN}-01", f"00-{TRACE}-{'0' * 16}-01",
    f"01-{TRACE}-{SPAN}-01", f"00-{TRACE[:-1]}g-{SPAN}-01", f"00-{TRACE}-{SPAN}", f"00-{TRACE}-{SPAN}-1",
    f"00-{TRACE}x-{SPAN}-01", f"00-{TRACE.upper()}-{SPAN}-01", f"ff-{TRACE}-{SPAN}-01", f"01-{TRACE}-{SPAN}-01-future",
    f"00-{TRACE}-{SPAN}-01-more"])
def test_the_publisher_is_the_span_the_propagator_finds(traceparent):
    msg = SimpleNamespace(headers={"traceparent": traceparent} if traceparent is not None else None)
    expected = trace.get_current_span(propagate.extract(msg.headers or {})).get_span_context()
    assert _publisher_of(msg) == expected
    assert _publisher_of(msg).is_valid == (traceparent in (
        f"00-{TRACE}-{SPAN}-01", f"00-{TRACE}-{SPAN}-00", f"01-{TRACE}-{SPAN}-01", f"01-{TRACE}-{SPAN}-01-future"))

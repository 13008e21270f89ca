"""Serving over websockets: the consumer, the two subprotocols' strict
handlers and their access lines, and the streams' turns on the event loop
with client messages first. Long-lived operations share one event loop, so
how they take turns belongs with the transport they are sent over."""

"""The platform every service uses the same way: event store, outbox relay, inbox consumers,
bus, HTTP, tracing, logs and configuration. It knows no service's domain."""

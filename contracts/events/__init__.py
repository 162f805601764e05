"""The integration events of every service, one module per service."""

"""`make bench`: throughput and memory of appending, relaying and rebuilding (not part of `make test`)."""

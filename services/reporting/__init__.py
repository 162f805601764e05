"""Reporting: projections of the whole event stream, served over HTTP and rebuilt by replay."""

"""The follow-up system's reports: one module per report, each a set of tables built from projections."""

"""Reporting's rules and plans as data (valid-from, valid-to, source per row), and the pure
calculations that read them: the municipal share ladder, ESF indicators, small-number suppression."""

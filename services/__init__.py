"""Polku's services. `platform` is the code every service shares; the rest are one service each."""

"""Distributed embedding (Ray)."""

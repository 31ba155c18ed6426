"""QLVB intake service."""

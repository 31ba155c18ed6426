"""QLVB identity service."""

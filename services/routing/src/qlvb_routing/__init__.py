"""QLVB routing service."""

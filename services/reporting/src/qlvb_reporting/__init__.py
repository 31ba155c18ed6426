"""QLVB reporting service."""

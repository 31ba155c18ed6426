"""QLVB issuance service."""

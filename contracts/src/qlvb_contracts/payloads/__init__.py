"""Payload models, one module per topic; each class is one (event type, schema version)."""

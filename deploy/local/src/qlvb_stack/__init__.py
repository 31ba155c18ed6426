"""The local stack and the operator CLI."""

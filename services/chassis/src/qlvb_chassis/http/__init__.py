"""HTTP building blocks for the services' FastAPI apps: problem+json errors, JWT auth, health.

Import from the submodules: ``qlvb_chassis.http.problems``, ``.auth`` and ``.health``.
"""

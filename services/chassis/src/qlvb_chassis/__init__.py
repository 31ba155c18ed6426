"""Infrastructure shared by the QLVB services (no domain rules)."""

"""Wire formats shared by all QLVB services."""

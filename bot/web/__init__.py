"""FastAPI app: web chat gateway, agent console and dashboard (growing)."""

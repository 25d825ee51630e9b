"""Developer scripts run through the Makefile."""

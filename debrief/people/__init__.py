"""People: managers add accounts, reset passwords, deactivate and reactivate."""

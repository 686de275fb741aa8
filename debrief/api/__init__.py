"""The JSON API: CRM workflows post lost deals here with a bearer key (SPEC 3)."""

"""The weekly digest: what each person gets (content.py), sent once a week (service.py)."""

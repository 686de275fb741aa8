"""Users, sign-in and role checks."""

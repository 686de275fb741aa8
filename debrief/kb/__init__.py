"""The knowledge base: browsing, search, lessons."""

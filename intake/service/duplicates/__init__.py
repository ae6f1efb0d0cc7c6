"""Duplicate detection: similarity (pure), LSH keys (pure), the lexicon, and the database side."""

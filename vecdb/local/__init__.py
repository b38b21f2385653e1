"""Local backend: SQLite (the truth) + a FAISS index cache per collection, in one directory."""

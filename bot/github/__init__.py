"""Talking to GitHub: the client (App auth, tokens, retries), reading facts (gather) and
writing records (publish)."""

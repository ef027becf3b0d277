"""The group-chat layer: the rules every platform shares (addressing, dedup, contexts, privacy)."""

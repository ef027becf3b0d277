"""Answers and recommendations composed from the knowledge base's own facts."""

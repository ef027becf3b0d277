"""Rasa custom actions: thin adapters from the tracker to services in `assistant/`."""

"""Shopper profiles kept with consent, and the shopper's rights over their data (export, delete)."""

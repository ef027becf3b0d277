"""Platform connectors: each verifies and parses its platform's requests into IncomingMessage."""

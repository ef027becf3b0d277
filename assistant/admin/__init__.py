"""Staff side of the knowledge base: the admin HTTP API, its tokens and its OpenAPI document."""

"""One module per CLI command group; each imports only typer at module level and the rest lazily."""

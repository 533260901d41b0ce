"""Block Kit rendering, the only code that knows Block Kit: domain objects in, dicts out."""

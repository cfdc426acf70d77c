"""Database access: one pool per process, numbered migrations, named queries."""

"""fks_executor."""

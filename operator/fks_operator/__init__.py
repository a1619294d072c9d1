"""fks_operator."""

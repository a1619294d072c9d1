"""fks_fake_exchange."""

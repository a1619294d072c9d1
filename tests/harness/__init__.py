"""Test harness shared by every tier: local processes, free ports, readiness waits."""

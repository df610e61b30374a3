"""Per-organization asset checks on the QuickBooks import: freshness and refresh-token health."""

"""The QuickBooks sensors: what starts a sync or a check run besides the nightly schedule."""

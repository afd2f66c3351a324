"""The companion WordPress plugin wpscim ships (importable as wpscim.companion so a wheel carries it)."""

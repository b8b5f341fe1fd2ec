"""Model backends: the plugin contract, the registry and the built-in backends."""

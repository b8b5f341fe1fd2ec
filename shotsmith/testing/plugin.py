"""pytest plugin (entry point ``pytest11: shotsmith``): fixtures for plugin authors."""

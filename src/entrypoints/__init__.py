"""The edges: settings, the DI container, the HTTP app and the command line."""

"""Examples of services that use accounts; not part of the service itself."""

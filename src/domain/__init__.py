"""The business of accounts: entities, value objects, rules and domain errors. Pure Python."""

"""The demo shop: ``schema.sql`` and deterministic seed data (:mod:`.seed`)."""

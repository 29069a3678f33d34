"""The provincial platform: signed client, connectivity, catalogue and outbox sync."""

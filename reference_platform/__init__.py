"""Reference provincial platform server (filled by the sync issue; see docs/roadmap)."""

"""The live streams' infrastructure: one LISTEN connection per process fanning out to clients."""

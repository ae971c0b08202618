"""The OttoChain world: wallets, JSON Logic, fibers (state machines and scripts), the
metagraph that batches accepted transitions into snapshots, and a population of agents
driving seven fiber types."""

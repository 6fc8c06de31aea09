"""Everything that acts on the outside world: the tools the model calls and their clients."""

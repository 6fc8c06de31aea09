"""One module per node; each exposes a factory taking GraphDeps and returning the node."""

"""What every app's GraphQL types and resolvers use, whatever the transport:
the executor, limits, error codes and masking, scalars, global IDs, nodes,
payloads and per-execution state. The apps' schemas depend on it; it
depends on none of them."""

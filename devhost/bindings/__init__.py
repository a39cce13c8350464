"""Input and output bindings besides the durable client and the HTTP response: how the
host fills a function's parameters from storage and writes what it set, converted the way
the Python worker converts them (docs/protocol.md, "Bindings")."""

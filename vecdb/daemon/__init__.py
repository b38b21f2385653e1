"""A warm worker for the CLI: a per-user process that keeps models, databases and indexes loaded between
`vecdb` commands, reached over an owner-only Unix socket, exiting after an idle timeout.

protocol: socket folder, message framing, fingerprint; ops: the operations (run here or there);
client: connect, start, call, status, stop; server: the worker process."""

"""Where a ccmon receiver listens unless told otherwise: shared by the CLI and the commands that
look for a running ccmon (statusline, doctor, env), without importing the CLI."""

DEFAULT_BIND = "127.0.0.1"
DEFAULT_GRPC_PORT = 4317
DEFAULT_HTTP_PORT = 4318

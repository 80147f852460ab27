"""The script worker's core: job messages in, claims, `started`/`result` messages out. Ports (claims
table, results queue) and the sandbox are passed in, so Lambda, the local platform and tests share it."""

"""The built-in offline router: all four protocols on 127.0.0.1, deterministic replies, no key needed."""

"""The subcommands of `miras-al`, one module each (see active_learning.cli)."""

"""The `golf-rt` subcommands, grouped by topic; each module registers its commands on the app."""

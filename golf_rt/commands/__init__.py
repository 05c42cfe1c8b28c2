"""The CLI's commands, grouped by topic; `golf_rt.cli` registers them."""

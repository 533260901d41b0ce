"""Ways in: the `ecrbot` command, the Bolt app and the console."""

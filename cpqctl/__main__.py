from cpqctl.cli.entry import run

run()

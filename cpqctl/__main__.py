from cpqctl.cli.main import run

run()

"""CLI command groups beyond the foundation, one module per concern; registered in cli.py."""

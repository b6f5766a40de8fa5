"""Django forms, one module per resource family; fields shared by several live in fields.py."""

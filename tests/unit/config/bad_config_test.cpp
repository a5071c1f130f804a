// Bad configs.

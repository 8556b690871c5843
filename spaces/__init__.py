"""Search spaces: pure functions of an Optuna trial returning a NetSpec (issue 3)."""

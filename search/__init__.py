"""CLI, data, training, the Ray Tune + Optuna study, results and reports."""

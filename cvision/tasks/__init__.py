"""What a stage learns, shared by its trainer and its benchmark: models built from the
config, model inputs, loss and the pure train step. Below `trainers/`; never imports it."""

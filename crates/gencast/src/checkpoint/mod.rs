//! Reading the official `.npz` checkpoints: container, typed configs and parameters.

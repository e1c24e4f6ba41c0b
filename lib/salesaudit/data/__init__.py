"""From an export to a loaded dataset: the canonical model, readers, presets, the run config, the loader, the verdict."""

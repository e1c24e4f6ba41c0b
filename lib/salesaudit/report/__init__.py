"""What a reader sees: labels in Russian and English and the display helpers of the notebooks."""

"""Contrastive fine-tuning: InfoNCE loss, training data readers, hard-negative mining, trainer, synthetic data."""

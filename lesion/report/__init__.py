"""What a reader sees: figures (`figures`), DVC plot tables (`tables`) and the self-contained HTML report
(`page`, built from `html`'s blocks)."""

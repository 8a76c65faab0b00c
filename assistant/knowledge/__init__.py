"""The knowledge base: entries and their YAML folder, imports (CSV/TSV/JSONL, Rasa), entry ids, the FAISS index
and its published versions, near duplicates, and the content-gap report."""

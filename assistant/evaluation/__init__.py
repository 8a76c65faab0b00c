"""Evaluation of the engine on public data sets (../shared/data): one module per report section, and the
runner behind `assistant eval` that writes the markdown report, results.json and the risk–coverage plot."""

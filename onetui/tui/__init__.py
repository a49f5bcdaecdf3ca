"""The console (Textual). The only package that imports textual: the engine, drivers and
store know nothing of widgets (an import-linter contract checks it)."""

"""os-refresh-config's replacement: run the phase scripts with run-parts semantics."""

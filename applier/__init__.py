"""os-apply-config's replacement: render templates from the merged metadata into files."""

"""One construct per file; each builds one part of the stack in small `_build_*` steps."""

"""Journal -> analysis -> report model -> HTML / Markdown / JSON / JUnit, follow-up actions."""

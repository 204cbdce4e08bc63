"""YAML -> model: plans, SLO catalogs, playbooks and Chaos Toolkit experiments, with file:line errors."""

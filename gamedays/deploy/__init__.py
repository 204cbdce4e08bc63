"""Run a plan in a cluster: the Kubernetes manifests (ServiceAccount, RBAC, ConfigMap, Job or CronJob)."""

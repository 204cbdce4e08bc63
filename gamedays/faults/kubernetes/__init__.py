"""Faults through the Kubernetes API: any cluster by kubeconfig or in-cluster credentials."""

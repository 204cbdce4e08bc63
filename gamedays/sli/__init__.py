"""SLI sources (http, prometheus, dns, postgres, kubernetes), also usable as Chaos Toolkit probes."""

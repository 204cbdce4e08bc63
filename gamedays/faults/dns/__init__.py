"""Faults through DNS UPDATE (RFC 2136, TSIG-signed): any DNS server taking dynamic updates."""

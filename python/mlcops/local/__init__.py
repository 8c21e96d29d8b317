"""Local container hosts: Debian 12 containers with systemd, managed like machines."""

"""onetui: a terminal console for a small hybrid cloud (libvirt, EC2, SGE, nginx, labs)."""

__version__ = "0.1.0"

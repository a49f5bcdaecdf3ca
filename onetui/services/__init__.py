"""Services onetui runs on top of VMs: Sun Grid Engine, nginx, labs."""

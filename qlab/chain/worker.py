"""``python -m qlab.chain.worker <address>``: a plugin process whose definition the host names by its spec."""

from .sockets import run_plugin

if __name__ == "__main__":
    run_plugin()

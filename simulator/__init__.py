"""resim: a simulator of PRIME-like ReRAM crossbar accelerators for sparse neural networks.

The import package is light on purpose: `resim --help` must not pay for importing torch.
"""

__version__ = "0.1.0"

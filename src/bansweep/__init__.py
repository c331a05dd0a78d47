"""bansweep: find covered-vendor equipment, pre-installed spyware and restricted parties."""

__version__ = "0.1.0"

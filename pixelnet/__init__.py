"""pixelnet: a four-pixel-camera network from laptop to microcontroller, verified bit for bit."""

__version__ = "0.1.0"

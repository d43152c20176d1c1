"""songnet: song-theme classification for the rufous-collared sparrow (*Zonotrichia capensis*).

The package follows the data: syrinx-model synthesis (``songnet.synth``), themes
(``songnet.themes``), the surrogate dataset (``songnet.synthesize``), audio input
(``songnet.audio``), Constant-Q images (``songnet.features``), the network
(``songnet.model``), training and evaluation, resynthesis of 1966 material, the latent
map, and field-recording classification. ``songnet.cli`` sits on top of them all.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("songnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

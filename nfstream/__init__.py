"""nfstream: a flow meter that turns packet captures or live traffic into flow records.

The engine is the C extension ``nfstream._engine``. The export helpers in
``nfstream._export`` import pandas, so they load only when ``to_pandas()`` or ``to_csv()``
runs.
"""

from ._engine import CaptureError, NFlow, NFPacket, NFPlugin, NFStreamer

__version__ = "0.1.0"

__all__ = ["CaptureError", "NFlow", "NFPacket", "NFPlugin", "NFStreamer"]

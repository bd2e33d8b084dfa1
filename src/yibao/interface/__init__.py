"""The national interface for designated institutions (定点医药机构接口), transport-independent.

``Platform.call(envelope)`` answers one request envelope; the HTTP service, the scenario runner
and the demo all use it.
"""

from .errors import InterfaceError
from .platform import Call, Platform, Transaction

__all__ = ["Call", "InterfaceError", "Platform", "Transaction"]

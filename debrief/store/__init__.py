"""The operational store (moved to a package; split by concern in the next commit)."""

from debrief.store.table import *  # noqa: F403
from debrief.store.table import CACHE_BYTES, STORE_FORMAT, Record  # noqa: F401

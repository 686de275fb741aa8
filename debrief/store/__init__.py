"""The operational store: TinyDB records, safe for many threads and processes.

The only package that imports TinyDB. TinyDB rewrites its whole JSON file on every write, so
one file holding the whole history would make each write cost O(records). Here every table is
a folder of shard files of at most SHARD_SIZE ids each, so a write rewrites one small file
whatever the history. Callers import from here; the modules, each one concern:

    shards.py   the shard file format: one record per line, read and written (orjson, stdlib),
                the atomic TinyDB storage, a file's stamp
    state.py    a table's state file: the write lock, the change counter, the ring of changes
    cache.py    a table's copy of its shards in this process: parsed shards, single records,
                field indexes, refreshed from the counter
    writes.py   a table's writes: insert, update, remove (one or many), upgrade of old files
    table.py    the Table: its attributes and its reads (get, all, find, count, version)
    folder.py   the Store (every table of one data folder) and the records' timestamps
    app.py      the Flask glue: init_app, get_store
"""

from debrief.store.app import get_store, init_app
from debrief.store.folder import Store, now, stamp
from debrief.store.shards import SHARD_SIZE, STORE_FORMAT, Record, Stamp
from debrief.store.table import Table

__all__ = [
    "SHARD_SIZE",
    "STORE_FORMAT",
    "Record",
    "Stamp",
    "Store",
    "Table",
    "get_store",
    "init_app",
    "now",
    "stamp",
]

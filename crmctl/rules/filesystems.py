"""Which filesystem a path is on, and whether a SQLite database may live there (issue 19).

SQLite in WAL mode (how crmctl opens it) keeps its readers and writers in step through a shared
memory file (``-shm``) mapped by every process that has the database open: that works only for
processes on one host.  On a network filesystem processes on two hosts each map their own copy of it
and the locks that should keep two writers apart are unreliable or missing: concurrent writers from
several hosts corrupt the database (SQLite's own advice: https://sqlite.org/wal.html,
https://sqlite.org/useovernet.html).  A team sharing one database on a server uses PostgreSQL.

The verdict is taken from the mount table of Linux (``/proc/self/mounts``): the mount whose mount
point is the longest prefix (in whole path components) of the database file's resolved folder, the
last one mounted where several share one mount point.  Other operating systems are not checked.

Pure: the caller reads the mount table and resolves the path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: filesystem types (as ``/proc/self/mounts`` names them) refused for a SQLite database: the network
#: filesystems (NFS, SMB/CIFS, AFS, NetWare), the cluster and distributed ones whose files several
#: hosts open at once (Ceph, GlusterFS, Lustre, GPFS, OCFS2, GFS2, BeeGFS), 9p (a virtual machine's or
#: WSL 2's share with its host) and the FUSE network clients (sshfs, rclone, s3fs, WebDAV, GlusterFS)
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "afs", "ncpfs",
    "ceph", "glusterfs", "lustre", "gpfs", "ocfs2", "gfs2", "beegfs",
    "9p",
    "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "fuse.glusterfs", "fuse.cephfs", "fuse.ceph-fuse",
    "davfs", "fuse.davfs2",
})

_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """A mount table field as the path it names (the kernel writes space, tab, newline and backslash
    as octal escapes: ``/mnt/my\\040share``)."""
    return _ESCAPE.sub(lambda m: chr(int(m[1], 8)), field)


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """``(mount point, filesystem type)`` of each line of a ``/proc/self/mounts`` text, in its order
    (lines that are not ``source point type options ...`` are skipped)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1].startswith("/"):
            mounts.append((_unescape(fields[1]), fields[2]))
    return mounts


def _inside(path: str, point: str) -> bool:
    if point == "/":
        return path.startswith("/")
    point = point.rstrip("/")
    return path == point or path.startswith(point + "/")


def filesystem_type(path: str, mounts: Iterable[tuple[str, str]]) -> str | None:
    """The type of the filesystem holding the absolute ``path`` (resolved: no symbolic links, no
    ``..``): the mount with the longest mount point containing it, the later one of equal points (a
    mount over another hides it); None when no mount contains it."""
    best: tuple[int, str] | None = None
    for point, fstype in mounts:
        if _inside(path, point):
            depth = len(point.rstrip("/"))
            if best is None or depth >= best[0]:
                best = (depth, fstype)
    return best[1] if best else None


def network_filesystem(path: str, mounts_text: str) -> str | None:
    """The filesystem type when ``path`` is on a network filesystem (:data:`NETWORK_TYPES`), else None."""
    fstype = filesystem_type(path, parse_mounts(mounts_text))
    return fstype if fstype in NETWORK_TYPES else None

"""The filesystem a SQLite database is on (issue 19): the mount table parsed, the longest mount point
found, network filesystems told apart -- from faked ``/proc/self/mounts`` texts."""

from __future__ import annotations

from crmctl.rules.filesystems import NETWORK_TYPES, filesystem_type, network_filesystem, parse_mounts

MOUNTS = """\
overlay / overlay rw,relatime,lowerdir=/l,upperdir=/u,workdir=/w 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda2 /home ext4 rw,relatime 0 0
filer:/export/crm /srv/crm nfs4 rw,relatime,vers=4.2,addr=10.0.0.5 0 0
//nas/team /mnt/team\\040share cifs rw,relatime,vers=3.1.1 0 0
ops@jump:/data /home/ops/remote fuse.sshfs rw,nosuid,nodev,user_id=1000 0 0
tmpfs /srv/crm/local tmpfs rw,relatime 0 0
"""


def test_the_mount_table_is_parsed_with_its_escapes():
    mounts = parse_mounts(MOUNTS + "garbage\n\n")
    assert ("/mnt/team share", "cifs") in mounts
    assert mounts[0] == ("/", "overlay") and len(mounts) == 7


def test_the_longest_mount_point_in_whole_components_wins():
    mounts = parse_mounts(MOUNTS)
    assert filesystem_type("/srv/crm/crm.db", mounts) == "nfs4"
    assert filesystem_type("/srv/crm", mounts) == "nfs4"
    assert filesystem_type("/srv/crmx/crm.db", mounts) == "overlay"  # not a prefix in whole components
    assert filesystem_type("/srv/crm/local/crm.db", mounts) == "tmpfs"  # a local mount inside the NFS one
    assert filesystem_type("/home/ops/remote/x/crm.db", mounts) == "fuse.sshfs"
    assert filesystem_type("/home/ops/crm.db", mounts) == "ext4"
    assert filesystem_type("/mnt/team share/crm.db", mounts) == "cifs"
    assert filesystem_type("relative/crm.db", mounts) is None


def test_a_later_mount_on_the_same_point_hides_the_earlier():
    text = "filer:/x /data nfs rw 0 0\n/dev/sdb1 /data ext4 rw 0 0\n"
    assert filesystem_type("/data/crm.db", parse_mounts(text)) == "ext4"
    assert network_filesystem("/data/crm.db", text) is None
    text = "/dev/sdb1 /data ext4 rw 0 0\nfiler:/x /data nfs rw 0 0\n"
    assert network_filesystem("/data/crm.db", text) == "nfs"


def test_network_types():
    assert {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "ceph"} <= NETWORK_TYPES
    assert not {"ext4", "xfs", "btrfs", "zfs", "overlay", "tmpfs", "fuse.gocryptfs"} & NETWORK_TYPES
    assert network_filesystem("/srv/crm/crm.db", MOUNTS) == "nfs4"
    assert network_filesystem("/home/ops/crm.db", MOUNTS) is None
    assert network_filesystem("/srv/crm/crm.db", "") is None

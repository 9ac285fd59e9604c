"""The Linux calls the sandbox needs that Python's standard library lacks (Python 3.11 has no os.unshare),
through ctypes: namespaces, mounts, pivot_root, prctl, capabilities and a seccomp filter. Standard library only:
the launcher runs before anything of the candidate's (or torch) is imported."""
from __future__ import annotations

import ctypes
import os
import platform
import struct
from typing import Optional

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000
NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4

ARCH = platform.machine()
# syscall numbers the filter and the wrappers use, per architecture (asm/unistd_64.h, asm-generic/unistd.h)
SYSCALLS = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "setns": 308, "unshare": 272, "kexec_load": 246, "kexec_file_load": 320,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321, "keyctl": 250, "add_key": 248,
        "request_key": 249, "reboot": 169, "swapon": 167, "swapoff": 168, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "userfaultfd": 323, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "iopl": 172, "ioperm": 173, "acct": 163,
        "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159, "quotactl": 179,
        "syslog": 103, "vhangup": 153, "clone": 56, "clone3": 435, "capset": 126,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "setns": 268, "unshare": 97, "kexec_load": 104, "kexec_file_load": 294,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "bpf": 280, "keyctl": 219, "add_key": 217,
        "request_key": 218, "reboot": 142, "swapon": 224, "swapoff": 225, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "userfaultfd": 282, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "acct": 89, "settimeofday": 170,
        "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171, "quotactl": 60, "syslog": 116, "vhangup": 58,
        "clone": 220, "clone3": 435, "capset": 91,
    },
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(s: Optional[str]) -> Optional[bytes]:
    return None if s is None else os.fsencode(s)


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: Optional[str], target: str, fstype: Optional[str], flags: int, data: Optional[str] = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)), f"mount {target}")


def umount2(target: str, flags: int) -> None:
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(ctypes.c_long(SYSCALLS[ARCH]["pivot_root"]), _b(new_root), _b(put_old)), "pivot_root")


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(0),
                       ctypes.c_ulong(0)), f"prctl({option})")


def drop_capabilities() -> None:
    """Empties the bounding, ambient, inheritable, permitted and effective sets of this process."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break  # EINVAL past the last capability this kernel knows
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("II", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # two __user_cap_data_struct {effective, permitted, inheritable}, all zero
    hb, db = ctypes.create_string_buffer(header), ctypes.create_string_buffer(data)
    _check(_libc.syscall(ctypes.c_long(SYSCALLS[ARCH]["capset"]), hb, db), "capset")


def install_seccomp(deny: list[str]) -> None:
    """A filter that answers EPERM to the named syscalls, to namespace-creating clone() flags and ENOSYS to
    clone3 (whose flags a filter cannot read; libc then falls back to clone). Needs no_new_privs first."""
    nrs = SYSCALLS.get(ARCH)
    if nrs is None:
        raise OSError(0, f"no seccomp table for {ARCH}")
    ld_w_abs, jeq_k, jset_k, ret_k = 0x20, 0x15, 0x45, 0x06
    eperm, enosys, allow = 0x00050000 | 1, 0x00050000 | 38, 0x7FFF0000
    kill = 0x80000000  # SECCOMP_RET_KILL_PROCESS: a syscall of another ABI (x32, i386) ends the process

    prog = [(ld_w_abs, 0, 0, 4), (jeq_k, 1, 0, AUDIT_ARCH[ARCH]), (ret_k, 0, 0, kill), (ld_w_abs, 0, 0, 0)]
    if ARCH == "x86_64":
        prog += [(0x35, 0, 1, 0x40000000), (ret_k, 0, 0, kill)]  # JGE x32 syscall bit
    prog += [(jeq_k, 0, 1, nrs["clone3"]), (ret_k, 0, 0, enosys)]
    # clone(flags, ...): flags are args[0] at offset 16 (low word, little-endian)
    ns = NAMESPACE_FLAGS
    prog += [(jeq_k, 0, 4, nrs["clone"]), (ld_w_abs, 0, 0, 16), (jset_k, 0, 1, ns), (ret_k, 0, 0, eperm),
             (ld_w_abs, 0, 0, 0)]
    for name in deny:
        if name in nrs:
            prog += [(jeq_k, 0, 1, nrs[name]), (ret_k, 0, 0, eperm)]
    prog.append((ret_k, 0, 0, allow))
    raw = b"".join(struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in prog)
    buf = ctypes.create_string_buffer(raw)
    fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(2), fbuf, ctypes.c_ulong(0), ctypes.c_ulong(0)),
           "seccomp")


def mount_flags_of(path: str) -> int:
    """The per-mount flags a remount must keep (in a user namespace they are locked)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((1, MS_RDONLY), (2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME),
                   (2048, MS_NODIRATIME), (4096, MS_RELATIME)):
        if f & st:
            out |= ms
    return out

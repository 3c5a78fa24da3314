"""Read an export as members (relative path -> bytes), from a ZIP, a tar.gz or a folder.

Nothing is ever extracted to disk: members are read into memory one at a
time, so an entry named ``../../etc/passwd`` or ``/abs`` cannot write
anywhere; such names are refused and reported. Size and compression-ratio
limits stop zip bombs before they are inflated.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple


class ExportError(Exception):
    """The export as a whole cannot be read; the message is one line for the user."""


class Member(NamedTuple):
    """One file of an export: where it is and a cheap content signature.

    A NamedTuple: a folder export makes one per file, 50,000 for a large
    workspace, on the path that finds an unchanged export.
    """

    name: str  # path inside the export, '/'-separated, relative to the archive
    size: int
    signature: str  # content hash where the container gives one for free, else size+mtime


@dataclass
class Export:
    """An opened export: a list of members and a way to read each."""

    path: Path
    kind: str  # 'zip' | 'tar' | 'dir'
    members: dict[str, Member]
    refused: list[str] = field(default_factory=list)  # "name: reason" lines

    def read(self, name: str) -> bytes:
        return read_member(self.path, self.kind, name)

    def fingerprint(self, extra: str = "") -> str:
        """Return a digest of every member's name and signature (and `extra`)."""
        h = hashlib.blake2b(digest_size=16)
        members = self.members
        text = "".join([f"{n}\0{members[n].size}\0{members[n].signature}\n" for n in sorted(members)])
        h.update(text.encode("utf-8", "surrogateescape"))
        h.update(extra.encode())
        return h.hexdigest()


def printable(name: str) -> str:
    """Return `name` fit for one report line: undecodable bytes and control characters escaped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# Names made only of these are safe as they are (one C call for most members).
PLAIN_NAME = re.compile(r"[\w.\- ]+", re.ASCII)


def _unsafe(name: str) -> str | None:
    """Say why a member name is unsafe to use, or return None."""
    if PLAIN_NAME.fullmatch(name) and name != "..":
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes from the file system or a tar header
        return "name is not valid UTF-8"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "'..' in path"
    if "\0" in name:
        return "NUL in path"
    if not name.isprintable():  # one C call: every member of a 50,000-file export passes here
        return "control character in name"
    return None


def open_export(path: Path) -> Export:
    """Open a ZIP, tar(.gz) or folder export and list its members, checking limits."""
    from pipelines.settings import get_settings  # not at import: parse workers read members only

    s = get_settings()
    if not path.exists():
        raise ExportError(f"{path}: no such file or folder")
    if path.is_dir():
        return _open_dir(path, s.max_file_bytes)
    if zipfile.is_zipfile(path):
        return _open_zip(path, s.max_file_bytes, s.max_export_bytes, s.max_zip_ratio)
    if _is_tar(path):
        return _open_tar(path, s.max_file_bytes, s.max_export_bytes, s.max_zip_ratio)
    raise ExportError(f"{path}: not a ZIP, tar archive or folder")


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _open_dir(root: Path, max_file: int) -> Export:
    members: dict[str, Member] = {}
    refused: list[str] = []
    stack = [("", str(root))]
    while stack:
        rel_dir, full_dir = stack.pop()
        try:
            entries = list(os.scandir(full_dir))
        except OSError as e:
            refused.append(f"{rel_dir or '.'}: {e.strerror}")
            continue
        for entry in entries:
            rel = rel_dir + entry.name
            why = _unsafe(entry.name)
            if why:
                refused.append(f"{printable(rel)}: {why}")
            elif entry.is_file(follow_symlinks=False):  # the common case first: no system call
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as e:
                    refused.append(f"{rel}: {e.strerror}")
                    continue
                size = st.st_size
                if size > max_file:
                    refused.append(f"{rel}: {size} bytes, over the {max_file}-byte limit")
                    continue
                members[rel] = Member(rel, size, f"m{size}:{st.st_mtime_ns}")
            elif entry.is_symlink():
                refused.append(f"{rel}: symbolic link, not followed")
            elif entry.is_dir(follow_symlinks=False):
                stack.append((rel + "/", entry.path))
    return Export(root, "dir", members, refused)


def _open_zip(path: Path, max_file: int, max_total: int, max_ratio: int) -> Export:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ExportError(f"{path}: corrupt ZIP ({e})") from e
    members: dict[str, Member] = {}
    refused: list[str] = []
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        why = _unsafe(name)
        if why is None and (info.external_attr >> 16) & 0o170000 == 0o120000:
            why = "symbolic link"
        if why is None and info.file_size > max_file:
            why = f"{info.file_size} bytes, over the {max_file}-byte limit"
        if why is None and info.compress_size and info.file_size / info.compress_size > max_ratio:
            why = f"compression ratio {info.file_size // info.compress_size}:1, a likely zip bomb"
        if why:
            refused.append(f"{printable(name)}: {why}")
            continue
        total += info.file_size
        if total > max_total:
            raise ExportError(f"{path}: uncompressed size over {max_total} bytes; refusing")
        # The central directory's CRC-32 is a content hash we get without reading.
        members[name] = Member(name, info.file_size, f"c{info.CRC:08x}")
    return Export(path, "zip", members, refused)


def _open_tar(path: Path, max_file: int, max_total: int, max_ratio: int) -> Export:
    try:
        with tarfile.open(path) as tf:
            infos = tf.getmembers()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ExportError(f"{path}: corrupt tar archive ({e})") from e
    members: dict[str, Member] = {}
    refused: list[str] = []
    total = 0
    for info in infos:
        if info.isdir():
            continue
        name = info.name
        why = _unsafe(name)
        if why is None and not info.isfile():
            why = "link or special file"
        if why is None and info.size > max_file:
            why = f"{info.size} bytes, over the {max_file}-byte limit"
        if why:
            refused.append(f"{printable(name)}: {why}")
            continue
        total += info.size
        if total > max_total:
            raise ExportError(f"{path}: uncompressed size over {max_total} bytes; refusing")
        members[posixpath.normpath(name)] = Member(name, info.size, f"t{info.mtime}:{info.chksum}")
    # A compressed tar does not say what each member compresses to: the ratio is the archive's.
    packed = max(path.stat().st_size, 1)
    if total > (1 << 20) and total / packed > max_ratio:
        raise ExportError(
            f"{path}: its members inflate to {total:,} bytes from {packed:,} "
            f"({total // packed}:1, over the {max_ratio}:1 limit), a likely archive bomb; refusing"
        )
    return Export(path, "tar", members, refused)


_zip_cache: dict[str, zipfile.ZipFile] = {}


def read_member(path: Path | str, kind: str, name: str) -> bytes:
    """Read one member's bytes; works in any process (each keeps its own handle)."""
    if kind == "dir":
        with open(os.path.join(path, name), "rb") as f:
            return f.read()
    if kind == "zip":
        key = str(path)
        zf = _zip_cache.get(key)
        if zf is None:
            zf = _zip_cache[key] = zipfile.ZipFile(path)
        try:
            info = zf.getinfo(name)
            with zf.open(info) as f:
                return _read_bounded(f, info.file_size, "its ZIP entry says")
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            # ValueError: the callers skip the member and name it. BadZipFile
            # messages can embed raw header bytes, hence the cut.
            raise ValueError(f"corrupt ZIP member ({str(e)[:100]})") from e
    with tarfile.open(path) as tf:
        # Members are listed by their normalised name ('./users.json' -> 'users.json').
        for entry in tf:
            if entry.isfile() and posixpath.normpath(entry.name) == name:
                member = tf.extractfile(entry)
                if member is not None:
                    return _read_bounded(member, entry.size, "its tar header says")
        raise OSError(f"{name}: not a regular file in the archive")


CHUNK = 1 << 20


def _read_bounded(f: IO[bytes], declared: int, who: str) -> bytes:
    """Read a member, counting the bytes really inflated: stop past what `who` declared.

    An archive that understates a member would otherwise inflate all of it
    (a gigabyte and more) before the CRC check fails.
    """
    chunks: list[bytes] = []
    got = 0
    while chunk := f.read(CHUNK):
        got += len(chunk)
        if got > declared:
            raise ValueError(f"inflates past the {declared:,} bytes {who}, a likely archive bomb")
        chunks.append(chunk)
    return b"".join(chunks)


def content_signature(data: bytes) -> str:
    """Return the content hash used for folder members (CRC-32 + length)."""
    return f"c{zlib.crc32(data):08x}"

"""Where bnnkit writes: checked before work starts, written without harm.

- :func:`check_file` / :func:`check_folder`: an output can be created there,
  probed by actually creating a file (permissions, read-only disks, a file
  where a folder should be), so a long run never fails at its very end.
- :func:`install`: a staged project moves into its folder. bnnkit records the
  files it wrote, with their sha256, in a manifest (``.bnnkit-files``); over its
  own project it replaces or removes only those that are still as it wrote them,
  never through a link, and every other file stays (another library too). A
  folder bnnkit did not create is refused unless ``force`` (then bnnkit's files
  are added to it).
- :func:`write_text`: a file replaced atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .errors import BnnkitError

MANIFEST = ".bnnkit-files"  # what bnnkit wrote into a project, one relative path a line


def _probe(folder: Path, shown) -> None:
    """Create and remove a file in the nearest existing ancestor of ``folder``."""
    p = folder
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    if not p.is_dir():
        raise BnnkitError(f"{shown}: {p} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as exc:
        raise BnnkitError(f"{shown}: cannot write in {p} ({exc.strerror or exc})") from None


def check_file(path, option: str = "-o") -> Path:
    """Check that the file ``path`` can be written (created or replaced).

    Example:
        >>> check_file("/etc/passwd/x.json", "--json")
        Traceback (most recent call last):
        bnnkit.errors.BnnkitError: --json /etc/passwd/x.json: /etc/passwd is a file, not a folder
    """
    path = Path(path)
    shown = f"{option} {path}"
    if path.is_dir():
        raise BnnkitError(f"{shown}: is a folder; {option} takes a file name")
    _probe(path.parent if str(path.parent) else Path("."), shown)
    return path


def check_folder(path, option: str = "-o") -> Path:
    """Check that the folder ``path`` exists or can be created, and takes files."""
    path = Path(path)
    shown = f"{option} {path}"
    if path.exists() and not path.is_dir():
        raise BnnkitError(f"{shown}: exists and is not a folder")
    _probe(path, shown)
    return path


STALE = re.compile(r"\.?bnnkit-[a-z]+-(\d+)-[A-Za-z0-9_]+$")  # a run's own folder: its PID


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


_CLEANED: set = set()  # folders already swept by this process


def clean_stale(parent) -> None:
    """Remove the staging and temporary folders that killed bnnkit runs left in
    ``parent`` (named with their PID, which no longer runs); never a link, never
    a folder of a run still going. Once per folder and process: a sweep or a
    benchmark makes many temporary folders, and /tmp can be long to list."""
    import shutil

    key = os.path.realpath(parent)
    if key in _CLEANED:
        return
    _CLEANED.add(key)
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return
    for p in entries:
        m = STALE.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def staging_dir(parent, kind: str) -> Path:
    """A new hidden folder in ``parent`` for this run (``.bnnkit-KIND-PID-*``), after
    removing those of killed runs."""
    clean_stale(parent)
    return Path(tempfile.mkdtemp(prefix=f".bnnkit-{kind}-{os.getpid()}-", dir=parent))


def temp_dir(kind: str) -> tempfile.TemporaryDirectory:
    """A temporary folder (``bnnkit-KIND-PID-*`` in the system's), removed when
    done; those of killed runs are removed first.

    Example:
        >>> with temp_dir("sim") as tmp:  # doctest: +SKIP
        ...     ...
    """
    clean_stale(tempfile.gettempdir())
    return tempfile.TemporaryDirectory(prefix=f"bnnkit-{kind}-{os.getpid()}-")


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically: readers see the old file or the new one."""
    return write_bytes(path, text.encode())


def write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically: readers see the old file or the new one.

    Example:
        >>> write_bytes("images.bin", bytes(784))  # doctest: +SKIP
        PosixPath('images.bin')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would make it (mkstemp gives 0600)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safe_name(name: str) -> bool:
    """A relative path below the folder: no absolute path, no '..', no empty part."""
    return bool(name) and not name.startswith("/") and not any(
        part in ("", ".", "..") for part in name.split("/"))


def _manifest(folder: Path) -> dict | None:
    """What bnnkit wrote into ``folder``: relative path -> the set of sha256s of
    the bytes it wrote (two while an install is under way; None for a manifest
    from before hashes were kept); None when the folder has no manifest (not a
    bnnkit project). Hostile lines (absolute paths, '..') are dropped: a manifest
    cannot reach out of its folder."""
    try:
        lines = (folder / MANIFEST).read_text().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    entries = {}
    for line in lines:
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            digest, name = None, line  # the older form: one path a line
        if _safe_name(name):
            if digest is None or entries.get(name, frozenset()) is None:
                entries[name] = None
            else:
                entries[name] = entries.get(name, frozenset()) | {digest}
    return entries


def _through_link(folder: Path, name: str) -> bool:
    """Whether ``folder/name`` passes through a symbolic link (or is one)."""
    path = folder
    for part in name.split("/"):
        path = path / part
        if path.is_symlink():
            return True
    return False


def _unchanged(folder: Path, name: str, entries: dict) -> bool:
    """Whether ``folder/name`` is a file bnnkit wrote, as it wrote it (an entry
    of the older manifests without a hash counts as bnnkit's)."""
    if name not in entries or _through_link(folder, name):
        return False
    path = folder / name
    if not path.is_file():
        return False
    digests = entries[name]
    return digests is None or _sha256(path) in digests


def _manifest_text(entries: dict) -> str:
    return "".join(f"{n}\n" if ds is None else "".join(f"{d}  {n}\n" for d in sorted(ds))
                   for n, ds in sorted(entries.items()))


def check_project_folder(path, force: bool = False, option: str = "-o") -> Path:
    """Where a project may go: a new or empty folder, a bnnkit project (its own
    files are replaced), or, with ``force``, any folder (bnnkit's files are added,
    same-named ones replaced). Symlinks are followed: the project goes where the
    link points. Returns the resolved folder."""
    shown = Path(path)
    folder = check_folder(shown, option).resolve()
    if folder.is_dir() and any(folder.iterdir()) and _manifest(folder) is None and not force:
        raise BnnkitError(f"{option} {shown}: holds files bnnkit did not write (no {MANIFEST}); "
                          "choose another folder, or pass --force to add the project to it")
    return folder


def install(staging: Path, folder: Path, force: bool = False) -> list[str]:
    """Move the staged project (files in sub-folders: a library ``NAME/`` and
    the application ``app/``) into ``folder``; returns the paths of files that
    were there and not bnnkit's, now replaced (only with ``force``).

    Over a bnnkit project it replaces only files the manifest says bnnkit wrote
    and that are still as it wrote them (the sha256 matches), and removes those
    of its files in the folders it writes (``NAME/``, ``app/``) that the new
    project no longer has. Other libraries in the folder (another ``--name``)
    and everything else stay. Nothing is removed or replaced through a link.
    """
    names = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    digests = {n: frozenset({_sha256(staging / n)}) for n in names}
    tops = {n.split("/")[0] for n in names}
    if not folder.exists():
        (staging / MANIFEST).write_text(_manifest_text(digests))
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(folder)
        return []
    for name in names + [MANIFEST]:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            raise BnnkitError(f"{folder}: {name} is a folder where bnnkit writes a file")
        for parent in list(Path(name).parents)[:-1]:
            if (folder / parent).is_symlink():  # it would write where the link points
                raise BnnkitError(f"{folder}: {parent.as_posix()} is a symbolic link where "
                                  "bnnkit writes a folder")
            if (folder / parent).exists() and not (folder / parent).is_dir():
                raise BnnkitError(f"{folder}: {parent.as_posix()} is a file where bnnkit "
                                  "writes a folder")
    previous = _manifest(folder) or {}
    replaced = [n for n in names if (folder / n).exists() or (folder / n).is_symlink()]
    replaced = [n for n in replaced if not _unchanged(folder, n, previous)]
    if replaced and not force:
        raise BnnkitError(f"{folder}: {replaced[0]} is not a file bnnkit wrote, or was changed "
                          "since; move it away, or pass --force to replace it")
    # other libraries' entries stay, as long as their files do
    kept = {n: d for n, d in previous.items()
            if n.split("/")[0] not in tops and (folder / n).is_file()}
    # First a manifest that accepts the old and the new bytes of every file: a run
    # killed while files move leaves a project the next run replaces without --force.
    during = dict(kept)
    for name, new in digests.items():
        old = previous.get(name, frozenset())
        during[name] = None if old is None else old | new
    write_text(folder / MANIFEST, _manifest_text(during))
    for name, old in sorted(previous.items()):
        # a file bnnkit wrote, unchanged, in a folder it writes now, no longer made
        if (name not in names and name.split("/")[0] in tops and old is not None
                and _unchanged(folder, name, previous)):
            (folder / name).unlink()
            for parent in list(Path(name).parents)[:-1]:  # and its folder, once empty
                try:
                    (folder / parent).rmdir()
                except OSError:
                    break
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, folder / name)
    write_text(folder / MANIFEST, _manifest_text({**kept, **digests}))
    return replaced

"""Secret files the embedded default creates on first run under var/keys/ (the JWT signing key,
the vault's master key): created once, readable by the owner only, agreed on by every process."""
import os
from collections.abc import Callable
from pathlib import Path


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content; if there is no file yet, `make()` it.

    Written aside and linked into place: processes starting at once agree on one content, because
    only the first link succeeds and the others read what it wrote.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        write_private(draft, make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won the race; its content is the content
        finally:
            draft.unlink()
    return path.read_bytes()


def write_private(path: Path, content: bytes) -> None:
    """Written readable by the owner only from the first byte (not chmod-ed after writing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    path.chmod(0o600)  # a file that existed before keeps its mode through O_CREAT


def replace_file(path: Path, content: bytes) -> None:
    """The file's content replaced at once (written aside, then renamed over it), owner-readable only."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    write_private(draft, content)
    os.replace(draft, path)

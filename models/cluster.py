"""A project-local PostgreSQL + PostGIS cluster: the embedded default when no DATABASE_URL is set.

The same code starts the demo's database (``qungong db up``) and the throwaway cluster of the
test session, so the tests exercise what users run.  As root, PostgreSQL refuses to run, so the
server runs as the ``postgres`` system user and owns its data directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PG_MAJOR = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
POSTGIS_CONTROL = Path(f"/usr/share/postgresql/{PG_MAJOR}/extension/postgis.control")
DEFAULT_PORT = 54329
DEFAULT_DBNAME = "qungong"
# The web app's login role: a member of the NOLOGIN group ``qungong_app`` that migration
# ``sec_sessions_audit`` creates with exactly the app's grants.
APP_LOGIN = "qungong_web"
APP_GROUP = "qungong_app"


class ClusterError(RuntimeError):
    """A problem with the local cluster, phrased for the person at the terminal."""


def check_installed() -> None:
    """Raise one clear line when PostgreSQL or PostGIS is missing."""
    if not (PG_BIN / "pg_ctl").exists():
        msg = (
            f"PostgreSQL {PG_MAJOR} is not installed ({PG_BIN}/pg_ctl missing): "
            f"run `apt-get install postgresql-{PG_MAJOR}-postgis-3`, or set DATABASE_URL."
        )
        raise ClusterError(msg)
    if not POSTGIS_CONTROL.exists():
        msg = (
            f"PostGIS is not installed for PostgreSQL {PG_MAJOR} ({POSTGIS_CONTROL} missing): "
            f"run `apt-get install postgresql-{PG_MAJOR}-postgis-3`, or set DATABASE_URL."
        )
        raise ClusterError(msg)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LocalCluster:
    """A PostgreSQL cluster living in ``root`` (data, socket and log inside it).

    Parameters
    ----------
    root
        Directory holding ``data/``, ``run/`` (the socket) and ``postgres.log``.
    port
        TCP port on 127.0.0.1.
    dbname
        The application database created by :meth:`up`.
    fast
        Turn off fsync and friends: for throwaway test clusters only.
    """

    root: Path
    port: int = DEFAULT_PORT
    dbname: str = DEFAULT_DBNAME
    fast: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def app_password_file(self) -> Path:
        return self.root / f"{APP_LOGIN}.password"

    def url(self, dbname: str | None = None) -> str:
        """The owner's SQLAlchemy URL (psycopg 3): the superuser over the unix socket.

        The socket admits only the operating-system user that runs qungong (``peer``, see
        :meth:`secure`); TCP needs a password.
        """
        host = quote(str(self.socket_dir), safe="/")
        return (
            f"postgresql+psycopg://postgres@/{dbname or self.dbname}?host={host}&port={self.port}"
        )

    def app_url(self, dbname: str | None = None) -> str | None:
        """The web app's URL (role ``qungong_web`` over TCP with its password), None before
        :meth:`ensure_app_login` has made it."""
        if not self.app_password_file.exists():
            return None
        password = self.app_password_file.read_text().strip()
        return (
            f"postgresql+psycopg://{APP_LOGIN}:{password}@127.0.0.1:{self.port}/"
            f"{dbname or self.dbname}"
        )

    # -- process control -------------------------------------------------------------

    def _as_owner(self) -> list[str]:
        # The server must not run as root; any other user runs it as themselves.
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*self._as_owner(), *args], capture_output=True, text=True, check=False, input=stdin
        )
        if check and proc.returncode != 0:
            msg = f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()}"
            raise ClusterError(msg)
        return proc

    def _prepare_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, pg.pw_uid, pg.pw_gid)
            # postgres must be able to reach the root through every parent directory
            for parent in self.root.resolve().parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        proc = self._run(str(PG_BIN / "pg_ctl"), "status", "-D", str(self.data_dir), check=False)
        return proc.returncode == 0

    def init(self) -> bool:
        """Create the data directory; False when it already existed."""
        check_installed()
        if self.initialised():
            return False
        self._prepare_dirs()
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        self.secure()
        return True

    # -- authentication ------------------------------------------------------------------

    def _write_config(self, name: str, text: str) -> None:
        path = self.data_dir / name
        path.write_text(text)
        path.chmod(0o600)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(path, pg.pw_uid, pg.pw_gid)

    def secure(self) -> None:
        """Write pg_hba.conf and pg_ident.conf: no connection is trusted.

        The superuser ``postgres`` connects only over the socket, as the operating-system user
        that runs the server or qungong (``peer`` with a map); every TCP connection, from any
        role, needs its password (scram-sha-256).  Reloads a running server.
        """
        me = pwd.getpwuid(os.geteuid()).pw_name
        server_user = "postgres" if os.geteuid() == 0 else me
        ident = "".join(f"owner {user} postgres\n" for user in sorted({server_user, me}))
        self._write_config("pg_ident.conf", "# qungong: who may be the superuser\n" + ident)
        self._write_config(
            "pg_hba.conf",
            "# qungong (models/cluster.py): the superuser only over the socket, as the OS user\n"
            "# running qungong; every TCP connection needs a password.\n"
            "local all postgres peer map=owner\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n",
        )
        if self.running():
            self._run(str(PG_BIN / "pg_ctl"), "reload", "-D", str(self.data_dir))

    def trusts_connections(self) -> bool:
        """True for a cluster made before :meth:`secure` existed (``initdb --auth=trust``)."""
        hba = self.data_dir / "pg_hba.conf"
        lines = [line.split() for line in hba.read_text().splitlines() if line.strip()]
        return any(words[-1] == "trust" for words in lines if not words[0].startswith("#"))

    def ensure_app_login(self) -> str:
        """Create (or re-key) the web app's login role; returns its URL.

        The password is made once, stored 0600 beside the cluster, and set on every call so
        the file and the role always agree.  Needs the ``qungong_app`` group role (migrations).
        """
        if not self.app_password_file.exists():
            fd = os.open(self.app_password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
        password = self.app_password_file.read_text().strip()
        self.psql(
            f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN
                    CREATE ROLE {APP_LOGIN} LOGIN;
                END IF;
            END $$;
            ALTER ROLE {APP_LOGIN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT
                PASSWORD '{password}';
            GRANT {APP_GROUP} TO {APP_LOGIN};
            """
        )
        return self.app_url() or ""

    def start(self) -> bool:
        """Start the server; False when it was already running."""
        if self.running():
            return False
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.socket_dir}",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(PG_BIN / "pg_ctl"),
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            " ".join(options),
        )
        return True

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        if not self.running():
            return False
        self._run(str(PG_BIN / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        return True

    def destroy(self) -> None:
        """Stop and delete everything under ``root`` (test clusters)."""
        with contextlib.suppress(ClusterError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------

    def psql(self, sql: str, *, dbname: str = "postgres") -> str:
        """Run SQL through psql over the socket (on stdin: passwords stay off the process
        list); returns stdout."""
        proc = self._run(
            str(PG_BIN / "psql"),
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            dbname,
            "-f",
            "-",
            stdin=sql,
        )
        return proc.stdout.strip()

    def database_exists(self, dbname: str | None = None) -> bool:
        name = dbname or self.dbname
        out = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        return out == "1"

    def create_database(self, dbname: str | None = None, *, template: str | None = None) -> bool:
        """Create a database with PostGIS; False when it already existed."""
        name = dbname or self.dbname
        if self.database_exists(name):
            return False
        tpl = f" TEMPLATE {template}" if template else ""
        self.psql(f'CREATE DATABASE "{name}"{tpl}')
        if template is None:
            self.psql("CREATE EXTENSION IF NOT EXISTS postgis", dbname=name)
        return True

    def drop_database(self, dbname: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

"""The COPY writer that works while PostgreSQL takes the data, against a real PostgreSQL: every row
arrives once and in order, the work is done during the COPY (before it ends), a COPY that fails
fails as psycopg's own would, a failing piece of work ends the COPY with nothing stored, and a COPY
too small to fill the socket still gets its work done."""

import psycopg
import pytest

from ingest.db.copywriter import OverlappingCopyWriter

ROWS = 200_000  # about 20 MB of text: more than a socket holds, so writing waits on PostgreSQL


class _Work:
    """Slices of work, counting what was done and noting whether the COPY had ended before each."""

    def __init__(self, slices: int, conn: psycopg.Connection) -> None:
        self.left, self.done, self.conn, self.after_end = slices, 0, conn, 0

    def __call__(self) -> bool:
        if not self.left:
            return False
        if self.conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.ACTIVE:
            self.after_end += 1  # the COPY is no longer running: this slice was not overlapped
        self.left -= 1
        self.done += 1
        return True


def _copy(conn: psycopg.Connection, rows: int, work: _Work, fail_at: int | None = None) -> None:
    cur = conn.cursor()
    with cur.copy("COPY sink (n, body) FROM STDIN", writer=OverlappingCopyWriter(cur, work)) as copy:
        for n in range(rows):
            copy.write_row((n if n != fail_at else "not a number", f"row {n} " + "x" * 80))


@pytest.fixture
def conn(db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("CREATE TEMP TABLE sink (n int PRIMARY KEY, body text NOT NULL)")
        yield conn


def test_every_row_arrives_once_in_order_and_the_work_is_done_while_the_copy_runs(conn):
    work = _Work(5_000, conn)
    _copy(conn, ROWS, work)
    count, first, last, ordered = conn.execute(
        "SELECT count(*), min(n), max(n), bool_and(body = 'row ' || n || ' ' || repeat('x', 80)) FROM sink").fetchone()
    assert (count, first, last, ordered) == (ROWS, 0, ROWS - 1, True)
    assert work.done == 5_000  # all of it, every slice before the COPY's end
    assert work.after_end == 0


def test_a_small_copy_still_gets_its_work_done_before_it_ends(conn):
    work = _Work(3, conn)
    _copy(conn, 10, work)
    assert conn.execute("SELECT count(*) FROM sink").fetchone()[0] == 10
    assert (work.done, work.after_end) == (3, 0)


def test_a_refused_row_fails_the_copy_as_psycopgs_own_writer_would(conn):
    work = _Work(10, conn)
    with pytest.raises(psycopg.errors.DataError):  # "not a number" in an int column, found by the server
        _copy(conn, ROWS, work, fail_at=ROWS - 5)
    assert work.after_end == 0
    conn.rollback()
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the connection is usable again


@pytest.mark.parametrize("rows", [ROWS, 10])  # failing while the socket is full, or before the end
def test_a_failing_piece_of_work_ends_the_copy_with_nothing_stored_and_is_raised(conn, rows):
    conn.commit()  # the table outlives the COPY's transaction

    def work():
        raise RuntimeError("a bug in the work")

    with pytest.raises(RuntimeError, match="a bug in the work"):
        _copy(conn, rows, work)
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM sink").fetchone() == (0,)  # the connection works, nothing kept

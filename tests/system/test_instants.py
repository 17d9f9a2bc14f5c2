"""S1: instants are stored in UTC and come back aware in UTC, on SQLite and PostgreSQL alike.

Every `_at` column uses one column type (`models.base.utc_column`); these tests hold it
to its promise on the suite's real database, in a scratch table of that one column.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from models.base import utc_column
from tests.conftest import Database

pytestmark = pytest.mark.system

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def probe(clean_db: Database) -> Iterator[tuple[sa.Engine, sa.Table]]:
    table = sa.Table("instant_probe", sa.MetaData(), sa.Column("n", sa.Integer), sa.Column("at", utc_column().type))
    table.create(clean_db.engine)
    try:
        yield clean_db.engine, table
    finally:
        table.drop(clean_db.engine)


def test_s1_an_instant_given_in_any_zone_comes_back_the_same_instant_in_utc(probe: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = probe
    given = [
        datetime(2027, 3, 28, 1, 30, tzinfo=BERLIN),  # the hour before Berlin springs forward
        datetime(2027, 3, 28, 3, 30, tzinfo=BERLIN),  # the hour after
        datetime(2027, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),  # New York's second 01:30
        datetime(2027, 1, 4, 9, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),  # a microsecond
    ]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"n": n, "at": at} for n, at in enumerate(given)])
    with engine.connect() as conn:
        back = [at for _, at in conn.execute(sa.select(table.c.n, table.c.at).order_by(table.c.n))]
    # the same instants (compared in UTC: Python never calls a fold=1 time equal across zones) …
    assert back == [at.astimezone(UTC) for at in given]
    assert all(at.utcoffset() == timedelta(0) for at in back)  # … in UTC
    assert back[2] == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


def test_s1_instants_compare_as_time_in_queries(probe: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = probe
    # 01:30 UTC written as 03:30 Berlin; 02:00 UTC written as 21:00 New York the day before
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"n": 1, "at": datetime(2027, 3, 28, 3, 30, tzinfo=BERLIN)},
                {"n": 2, "at": datetime(2027, 3, 27, 22, 0, tzinfo=NEW_YORK)},
            ],
        )
    bound = datetime(2027, 3, 28, 2, 30, tzinfo=timezone(timedelta(hours=1)))  # 01:30 UTC
    with engine.connect() as conn:
        before = conn.execute(sa.select(table.c.n).where(table.c.at <= bound)).scalars().all()
        first = conn.execute(sa.select(table.c.n).order_by(table.c.at).limit(1)).scalar_one()
    assert before == [1]
    assert first == 1


def test_s1_a_naive_instant_is_refused_and_nothing_is_written(probe: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = probe
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(table.insert(), [{"n": 1, "at": datetime(2027, 1, 4, 9, 0)}])  # noqa: DTZ001 - the point
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0


def test_s1_sqlite_rows_keep_sqlalchemys_datetime_text_so_older_rows_read_the_same(
    probe: tuple[sa.Engine, sa.Table],
) -> None:
    engine, table = probe
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores timestamptz, not text")
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"n": 1, "at": datetime(2027, 1, 4, 10, 0, tzinfo=BERLIN)}])
        # as rows written before Prolo converted instants itself, and by hand without microseconds
        conn.exec_driver_sql("INSERT INTO instant_probe (n, at) VALUES (2, '2027-01-04 09:00:00.000000')")
        conn.exec_driver_sql("INSERT INTO instant_probe (n, at) VALUES (3, '2027-01-04 09:00:00')")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT at FROM instant_probe WHERE n = 1").scalar_one()
        back = conn.execute(sa.select(table.c.at).order_by(table.c.n)).scalars().all()
    assert stored == "2027-01-04 09:00:00.000000"
    assert back == [datetime(2027, 1, 4, 9, 0, tzinfo=UTC)] * 3

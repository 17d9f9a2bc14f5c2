"""Reading the handout's appointment table the way a patient reads the printed sheet: row by row."""

from html.parser import HTMLParser


class _Table(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def appointment_rows(page: str) -> list[dict[str, str]]:
    """Each row of the handout's table as {column heading: cell text}, whitespace collapsed."""
    table = _Table()
    table.feed(page)
    header, *rows = [row for row in table.rows if row]
    return [dict(zip(header, row, strict=True)) for row in rows]

"""Uploaded files: the one guard every import goes through.

A small file can hold a great deal: a 43 KB .xlsx holds 300,000 rows once unzipped (a
decompression bomb), and a 20 MB CSV of one-character lines holds ten million. So, before any
work is spent on a file:

1. ``read_upload`` checks the upload's size before reading it;
2. ``check_xlsx`` looks at the archive's directory: the number of entries and their declared
   uncompressed size, then streams each worksheet's XML (without parsing it) counting rows, and
   refuses as soon as one holds more than the caller's row cap — milliseconds, not a parse;
3. ``xlsx_rows`` and ``csv_rows`` stream rows (openpyxl's read-only mode, the csv module) and stop
   one row past the cap, so the caller can say "more than N rows" without reading the rest.

Each refusal is an ``UploadRefused`` whose message says why, for the form beside the file field.
"""

import csv
import io
import re
import zipfile

from django.utils.translation import gettext as _

#: at most this many entries in an .xlsx archive (a workbook has a dozen or two)
MAX_XLSX_ENTRIES = 500
#: at most this many bytes once unzipped, all entries together (as the archive declares them; zipfile
#: never inflates an entry past its declared size)
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


class UploadRefused(Exception):
    """The file is refused as a whole; the message says why."""


def too_many_rows(max_rows):
    return UploadRefused(
        _("The file has more than %(max)s rows; split it into smaller files.") % {"max": f"{max_rows:,}"}
    )


def read_upload(upload, *, max_bytes):
    """The bytes of an uploaded file, after checking its size (never reading a larger one)."""
    if upload.size > max_bytes:
        raise UploadRefused(
            _("The file is larger than %(size)s MB; split it into smaller files.")
            % {"size": f"{max_bytes / 1024 / 1024:g}"}
        )
    return upload.read(max_bytes + 1)[: max_bytes + 1]


def _unreadable():
    return UploadRefused(
        _(
            "This XLSX file cannot be read. Open it in a spreadsheet program, "
            "save it again as .xlsx (or CSV) and upload it again."
        )
    )


def check_xlsx(data, *, max_rows):
    """Refuse an .xlsx whose archive is too large unzipped, has too many entries, or has a
    worksheet with more than ``max_rows`` data rows (the header row comes on top)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise _unreadable() from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_XLSX_ENTRIES:
            raise UploadRefused(
                _("The workbook holds too many parts (%(count)s); save it again as .xlsx or CSV.")
                % {"count": f"{len(entries):,}"}
            )
        if sum(entry.file_size for entry in entries) > MAX_XLSX_UNCOMPRESSED:
            raise UploadRefused(
                _("The workbook is larger than %(size)s MB once unzipped; split it into smaller files.")
                % {"size": MAX_XLSX_UNCOMPRESSED // 1024 // 1024}
            )
        for entry in entries:
            if entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
                _count_rows(archive, entry, max_rows + 1)


def _count_rows(archive, entry, limit):
    """Stream one worksheet's XML and refuse it past ``limit`` rows (the tag is counted, not parsed)."""
    count, last, position, tail = 0, -1, 0, b""
    try:
        with archive.open(entry) as stream:
            while True:
                chunk = stream.read(1024 * 1024)
                if not chunk:
                    return
                block = tail + chunk
                base = position - len(tail)  # where ``block`` starts in the whole stream
                for match in _ROW_TAG.finditer(block):
                    start = base + match.start()
                    if start > last:  # a tag cut by the chunk boundary is counted once
                        count, last = count + 1, start
                if count > limit:
                    raise too_many_rows(limit - 1)
                position += len(chunk)
                tail = block[-16:]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _unreadable() from exc


def xlsx_rows(data, *, max_rows):
    """The first worksheet's rows (tuples of cell values), streamed in read-only mode after
    ``check_xlsx``; stops after ``max_rows + 1`` non-empty rows (header and data) plus one, so
    the caller sees that there are more."""
    check_xlsx(data, max_rows=max_rows)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken zip, a zip that is no workbook, an encrypted file...
        raise _unreadable() from exc
    try:
        sheet = book.worksheets[0]
        seen = 0
        for row in sheet.iter_rows(values_only=True):
            yield row
            if any(value not in (None, "") for value in row):
                seen += 1
                if seen > max_rows + 1:
                    return
    finally:
        book.close()


def csv_rows(text, *, max_rows, delimiter=","):
    """Rows of CSV ``text`` (lists of strings), streamed; stops after ``max_rows + 1`` non-empty
    rows plus one. Raises ``csv.Error`` for text the csv module cannot read."""
    seen = 0
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield row
        if any(cell.strip() for cell in row):
            seen += 1
            if seen > max_rows + 1:
                return
